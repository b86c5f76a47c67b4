"""Paper B's Wall Remover (Algorithm 1) and iterative algebro-geometric EDM resolution (Algorithm 2)."""

from __future__ import annotations

import importlib
import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ipsbook.methods.edm.core import (
    dilation_factors,
    dilation_stats,
    edm,
    position_errors,
    symmetrise,
)
from ipsbook.methods.edm.iag import VARIANTS, iag_resolve
from ipsbook.methods.edm.wall_remover import (
    MIN_ALTITUDE_RATIO,
    contained_quadruples,
    triangle_test,
    wall_remover,
)

# the package re-exports the functions under the modules' names
wr_module = importlib.import_module("ipsbook.methods.edm.wall_remover")


def random_points(seed: int, n: int, side: float = 50.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.0, side, (n, 2))


def cross2(u: np.ndarray, v: np.ndarray) -> float:
    return float(u[0] * v[1] - u[1] * v[0])


def noisy(D: np.ndarray, sigma: float, seed: int, missing: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    E = np.triu(np.abs(D + rng.normal(0.0, sigma, D.shape)), 1)
    E = E + E.T
    if missing:
        m = np.triu(rng.random(D.shape) < missing, 1)
        E[m | m.T] = np.nan
    return E


def planted_pair(seed: int, factor: float, n: int = 16):
    """Exact EDM with one inner segment (the most often tested one, longer than 5 m) dilated."""
    X = random_points(seed, n)
    D = edm(X)
    first = wall_remover(D, max_iter=0)
    evaluated = np.where(D > 5.0, first.n_evaluated, 0)
    i, j = sorted(np.unravel_index(np.argmax(evaluated), D.shape))
    assert first.n_evaluated[i, j] > 10  # an inner segment of many contained quadruples
    Dp = D.copy()
    Dp[i, j] *= factor
    Dp[j, i] *= factor
    return X, D, Dp, (int(i), int(j))


# --------------------------------------------------------------------------------------------
# Wall Remover


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wall_remover_leaves_a_consistent_matrix_unchanged(seed):
    X = random_points(seed, 15)
    D = edm(X)
    r = wall_remover(D)
    assert r.converged and r.n_iter == 0 and r.contractions == []
    assert np.array_equal(r.D, D)
    assert r.quadruples_per_pass[0] > 100
    assert (r.weights == 0).all()
    assert np.nanmax(np.abs(r.stretch)) < 1e-9
    assert not r.symmetrised


@pytest.mark.parametrize("seed,factor", [(0, 1.3), (1, 1.5), (2, 1.4), (3, 1.3), (4, 1.5)])
def test_wall_remover_finds_and_contracts_a_planted_dilated_pair(seed, factor):
    X, D, Dp, pair = planted_pair(seed, factor)
    first = wall_remover(Dp, max_iter=0)
    p = first.probability
    assert p[pair] == pytest.approx(1.0)
    assert p[pair] == np.nanmax(p)
    assert first.history[0]["segment"] == pair  # picked first among any ties (larger weight)
    # its stretch is its whole excess: the placement from the other two vertices is exact
    assert first.stretch[pair] == pytest.approx(Dp[pair] - D[pair], rel=1e-9)

    r = wall_remover(Dp)
    assert r.converged
    assert r.contractions[0][:2] == pair
    total = {}
    for i, j, f in r.contractions:
        total[(i, j)] = total.get((i, j), 1.0) * f
        assert 1 - 0.05 - 1e-12 <= f < 1.0  # never more than the learning rate
    assert min(total, key=total.get) == pair  # the planted pair is contracted the most
    k_before, k_after = Dp[pair] / D[pair], r.D[pair] / D[pair]
    assert abs(k_after - 1.0) < abs(k_before - 1.0)
    assert abs(r.D[pair] - D[pair]) <= 0.5 + 1e-9 or abs(k_after - 1) < 0.1
    var_before = dilation_stats(dilation_factors(Dp, X))["var"]
    var_after = dilation_stats(dilation_factors(r.D, X))["var"]
    assert var_after < 0.1 * var_before
    assert np.allclose(r.D, r.D.T, equal_nan=True)


@pytest.mark.parametrize("bitmap", [True, False])
def test_wall_remover_incremental_passes_equal_a_full_reevaluation(bitmap, monkeypatch):
    if not bitmap:  # the path for networks too large for the point × quadruple bitmap
        monkeypatch.setattr(wr_module, "_BITMAP_MAX_N", 0)
    for n, cap in ((25, None), (30, 1500)):
        X = random_points(7, n)
        E = noisy(edm(X), 1.0, seed=7, missing=0.2)
        r = wall_remover(E, max_iter=40, max_quadruples=cap)
        assert r.n_iter > 0
        S0, _ = wr_module._prepare(E, "min")
        M = wr_module._measured(S0)
        tri = wr_module._triangles(S0, M)
        if cap is not None:
            order = np.random.default_rng(0).permutation(tri.shape[0])
            _, _, used = wr_module._enumerate(S0, M, tri[order], cap)
            tri = tri[np.sort(order[: used.shape[0]])]
        Q, st_, _ = wr_module._enumerate(r.D, M, tri, None)
        full = wr_module._Store(Q, st_, n, 0.5)
        assert {tuple(q) for q in Q.tolist()} == {tuple(q) for q in r.quadruples.tolist()}
        assert np.array_equal(wr_module._segment_matrix(full.cnt, n), r.n_evaluated)
        assert np.array_equal(wr_module._segment_matrix(full.w, n), r.weights)
        assert r.quadruples_per_pass[-1] == Q.shape[0]


def test_contained_quadruples_match_the_true_geometry():
    X = random_points(11, 11)
    D = edm(X)
    got = {tuple(q) for q in contained_quadruples(D).tolist()}

    def inside(p, a, b, c):
        T = np.array([a - c, b - c]).T
        lam = np.linalg.solve(T, p - c)
        return min(lam[0], lam[1], 1 - lam.sum()) >= 0

    want = set()
    for a, b, c in itertools.combinations(range(11), 3):
        sides = sorted([D[a, b], D[a, c], D[b, c]])
        area2 = abs(cross2(X[b] - X[a], X[c] - X[a]))
        if area2 < MIN_ALTITUDE_RATIO * sides[-1] ** 2:
            continue
        for l in range(11):
            if l not in (a, b, c) and inside(X[l], X[a], X[b], X[c]):
                want.add((a, b, c, l))
    assert got == want and len(want) > 20
    Q = contained_quadruples(D)
    per = D[Q[:, 0], Q[:, 1]] + D[Q[:, 0], Q[:, 2]] + D[Q[:, 1], Q[:, 2]]
    assert (np.diff(per) <= 1e-9).all()  # largest triangle first


def test_contained_quadruples_cap_draws_whole_triangles_reproducibly():
    X = random_points(5, 30)
    D = noisy(edm(X), 0.5, seed=5, missing=0.1)
    full = {tuple(q) for q in contained_quadruples(D).tolist()}
    a = contained_quadruples(D, max_quadruples=500, seed=1)
    b = contained_quadruples(D, max_quadruples=500, seed=1)
    c = contained_quadruples(D, max_quadruples=500, seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert 500 <= len(a) < 500 + 30  # whole triangles: at most one triangle's l over the cap
    assert {tuple(q) for q in a.tolist()} <= full


def test_triangle_test_gives_the_figure_3_geometry():
    X = random_points(0, 16)
    D = edm(X)
    Q = contained_quadruples(D)

    def depth(q):  # smallest barycentric coordinate of l in abc
        T = np.array([X[q[0]] - X[q[2]], X[q[1]] - X[q[2]]]).T
        lam = np.linalg.solve(T, X[q[3]] - X[q[2]])
        return min(lam[0], lam[1], 1 - lam.sum())

    # l deep inside: a dilated l–c cannot pass l for its mirror image beyond ab (Fig. 3)
    q = max(Q, key=depth)
    t = triangle_test(D, *q)
    A, B, C = (t["points"][k] for k in "abc")
    assert A.tolist() == [0.0, 0.0] and B[1] == 0.0 and C[1] > 0
    for P in t["placements"].values():  # exact: the three placements of l coincide
        assert np.allclose(P, t["placements"]["ab"], atol=1e-9)
        assert np.allclose([np.hypot(*(P - V)) for V in (A, B, C)], D[q[3], q[:3]], atol=1e-9)
    assert t["contained"] and all(t["inside"].values())
    assert not any(t["flagged"].values())
    # dilate l–c: its placement from a, b is exact and predicts the true range
    Dp = D.copy()
    Dp[q[3], q[2]] *= 1.3
    Dp[q[2], q[3]] *= 1.3
    t = triangle_test(Dp, *q)
    assert t["flagged"]["lc"] and t["stretch"]["lc"] == pytest.approx(0.3 * D[q[3], q[2]])
    assert t["predicted"]["lc"] == pytest.approx(D[q[3], q[2]])
    assert t["contained"] and t["inside"]["ab"]
    contained, stretch = wr_module._evaluate(Dp, q[None, :].astype(np.int32))
    assert contained[0]
    assert np.allclose(stretch[0], [t["stretch"][k] for k in ("la", "lb", "lc")])


def test_wall_remover_symmetrises_asymmetric_input_by_min():
    X = random_points(3, 12)
    D = edm(X)
    A = D.copy()
    A[0, 1] += 3.0  # the other direction, the smaller one, is kept
    A[4, 2] = np.nan  # one direction missing: the other is taken
    r = wall_remover(A)
    assert r.symmetrised
    assert np.allclose(r.D, symmetrise(A, "min"))
    assert np.array_equal(r.D, D)


def test_wall_remover_handles_missing_ranges_and_records_untestable_segments():
    X = random_points(4, 20)
    E = noisy(edm(X), 0.0, seed=4, missing=0.3)
    r = wall_remover(E)
    assert r.converged and r.n_iter == 0
    assert np.isnan(r.D[np.isnan(E)]).all()
    assert not r.testable[np.isnan(E)].any()
    hull_pairs = r.testable.sum() // 2
    assert 0 < hull_pairs < (~np.isnan(E)).sum() // 2  # some measured pairs cannot be tested
    assert np.isnan(r.probability[~r.testable]).all()


# --------------------------------------------------------------------------------------------
# IAG


@pytest.mark.parametrize("variant", VARIANTS)
def test_iag_recovers_an_exact_configuration(variant):
    X = random_points(0, 12)
    D = edm(X)
    r = iag_resolve(D, variant=variant)
    assert position_errors(r.X, X).rmse < 1e-6
    assert r.poor_anchors == r.pruned == [] and r.variant == variant
    assert np.nanmax(r.radii) < 1e-6
    assert r.n_aligned == r.n_iterations == 12 * 11
    Dm = D.copy()
    for i, j in ((0, 5), (2, 7), (3, 4), (9, 11), (1, 10)):
        Dm[i, j] = Dm[j, i] = np.nan
    r = iag_resolve(Dm, variant=variant)
    assert position_errors(r.X, X).rmse < 1e-6
    assert not np.isnan(r.X).any()


def test_iag_leaves_unplaceable_sensors_unplaced():
    X = random_points(1, 10)
    D = edm(X)
    D[9, 1:9] = D[1:9, 9] = np.nan  # sensor 9 ranges to sensor 0 only: never placed
    r = iag_resolve(D)
    assert np.isnan(r.X[9]).all() and np.isnan(r.radii[9]) and r.clusters[9].shape == (0, 2)
    assert position_errors(r.X, X).rmse < 1e-6 and position_errors(r.X, X).n_unplaced == 1


def test_iag_iterations_carry_the_figure_5_and_6_data():
    X = random_points(2, 8)
    D = edm(X)
    r = iag_resolve(D)
    first = r.iterations[0]
    k0 = list(first.points).index(first.origin)
    kt = list(first.points).index(first.pivot)
    assert np.allclose(first.local[k0], 0.0)
    assert first.local[kt][1] == 0.0 and first.local[kt][0] == pytest.approx(
        D[first.origin, first.pivot]
    )
    for it in r.iterations:
        sub = D[np.ix_(it.points, it.points)]
        assert np.allclose(edm(it.local), sub, atol=1e-9)
        assert np.allclose(it.aligned, r.X[it.points], atol=1e-9)
    sizes = [c.shape[0] for c in r.clusters]
    assert sum(sizes) == sum(len(it.points) for it in r.iterations)
    assert len(r.iterations) == r.n_iterations == 8 * 7
    assert len(iag_resolve(D, max_kept_iterations=5).iterations) == 5


def test_iag_flags_a_planted_poor_anchor_and_pruning_helps_the_others():
    for seed in range(3):
        X = random_points(seed, 15)
        D = edm(X)
        bad = 3
        D[bad] *= 1.4
        D[:, bad] *= 1.4
        r = iag_resolve(D)
        assert r.poor_anchors == [bad] and r.pruned == [bad]
        assert np.argmax(r.rounds[0]["radii"]) == bad
        assert r.rounds[-1]["new_poor"] == []  # no further poor anchor once it is out
        r0 = iag_resolve(D, prune=False)
        assert r0.poor_anchors == [bad] and r0.pruned == []  # flagged, not acted on
        others = np.arange(15) != bad
        before = position_errors(r0.X[others], X[others]).rmse
        after = position_errors(r.X[others], X[others]).rmse
        assert after < 0.1 * before and after < 1e-6


def test_iag_mean_variant_is_the_most_accurate_on_noisy_ranges():
    errs = {v: [] for v in VARIANTS}
    for seed in range(3):
        X = random_points(seed, 20)
        E = noisy(edm(X), 1.0, seed=seed, missing=0.1)
        for v in VARIANTS:
            errs[v].append(position_errors(iag_resolve(E, variant=v).X, X).rmse)
    mean_err = {v: float(np.mean(e)) for v, e in errs.items()}
    assert mean_err["mean"] == min(mean_err.values())
    assert mean_err["mean"] < 1.5  # 1 m range noise, 20 sensors in 50 m x 50 m


def test_iag_uses_n_origins_and_is_deterministic():
    X = random_points(6, 14)
    E = noisy(edm(X), 0.3, seed=6)
    r = iag_resolve(E, n_origins=3)
    assert len({it.origin for it in r.iterations}) == 3
    assert np.array_equal(r.X, iag_resolve(E, n_origins=3).X, equal_nan=True)
    assert not np.isnan(r.X).any()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    n=st.integers(5, 15),
    seed=st.integers(0, 2**32 - 1),
    scale=st.floats(1.0, 200.0),
    aspect=st.floats(0.2, 1.0),
    variant=st.sampled_from(VARIANTS),
)
def test_iag_property_exact_configurations_are_recovered(n, seed, scale, aspect, variant):
    X = np.random.default_rng(seed).uniform(0.0, 1.0, (n, 2)) * [scale, scale * aspect]
    D = edm(X)
    off = D[~np.eye(n, dtype=bool)]
    assume(off.min() > 1e-2 * scale)  # no two sensors on top of each other
    for a, b, c in itertools.combinations(range(n), 3):  # no three on one line
        area2 = abs(cross2(X[b] - X[a], X[c] - X[a]))
        assume(area2 / max(D[a, b], D[a, c], D[b, c]) > 1e-3 * scale)
    r = iag_resolve(D, variant=variant)
    assert position_errors(r.X, X).rmse < 1e-6 * max(1.0, scale / 50)
    assert r.poor_anchors == []


# --------------------------------------------------------------------------------------------
# Bad input


def test_bad_input_raises_naming_the_parameter():
    X = random_points(0, 8)
    D = edm(X)
    A = D.copy()
    A[0, 1] += 1.0
    with pytest.raises(ValueError, match="symmetric"):
        wall_remover(A, symmetrise=None)
    with pytest.raises(ValueError, match="symmetric"):
        iag_resolve(A, symmetrise=None)
    neg = D.copy()
    neg[0, 1] = neg[1, 0] = -1.0
    for f in (wall_remover, iag_resolve):
        with pytest.raises(ValueError, match="negative"):
            f(neg)
        with pytest.raises(ValueError, match="square"):
            f(np.ones((3, 4)))
        with pytest.raises(ValueError, match="symmetrise"):
            f(D, symmetrise="median")
    with pytest.raises(ValueError, match="dim"):
        iag_resolve(D, dim=3)
    with pytest.raises(ValueError, match="variant"):
        iag_resolve(D, variant="median")
    with pytest.raises(ValueError, match="n_origins"):
        iag_resolve(D, n_origins=0)
    for lr in (0.0, 1.0, -0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="learning_rate"):
            wall_remover(D, learning_rate=lr)
    for tol in (-0.1, float("inf")):
        with pytest.raises(ValueError, match="tolerance"):
            wall_remover(D, tolerance=tol)
    with pytest.raises(ValueError, match="max_iter"):
        wall_remover(D, max_iter=-1)
    with pytest.raises(ValueError, match="max_quadruples"):
        wall_remover(D, max_quadruples=0)
    with pytest.raises(ValueError, match="min_probability"):
        wall_remover(D, min_probability=1.5)
    with pytest.raises(ValueError, match="l="):
        triangle_test(D, 0, 1, 2, 99)
    with pytest.raises(ValueError, match="distinct"):
        triangle_test(D, 0, 1, 2, 2)
    Dm = D.copy()
    Dm[0, 3] = Dm[3, 0] = np.nan
    with pytest.raises(ValueError, match="missing"):
        triangle_test(Dm, 0, 1, 2, 3)
    with pytest.raises(ValueError, match="tolerance"):
        triangle_test(D, 0, 1, 2, 3, tolerance=-1.0)


def test_iag_chained_variants_reanchored_do_not_drift():
    """Aligning onto the latest iteration chains hundreds of alignments and the error grows
    with the hops; re-anchoring onto the first frame (the default) keeps every iteration 1–2
    hops away and the chained variants close to "mean"."""
    X = random_points(0, 20)
    E = noisy(edm(X), 0.5, seed=0, missing=0.1)
    mean_rmse = position_errors(iag_resolve(E, variant="mean").X, X).rmse
    for v in ("sequential", "combinations"):
        latest = iag_resolve(E, variant=v, chain_target="latest", max_kept_iterations=None)
        ref = iag_resolve(E, variant=v, max_kept_iterations=None)
        assert ref.chain_target == "reference" and latest.chain_target == "latest"
        hops_l = [it.hops for it in latest.iterations if it.aligned is not None]
        hops_r = [it.hops for it in ref.iterations if it.aligned is not None]
        assert max(hops_l) > 100 and max(hops_r) <= 3
        assert sum(h == 0 for h in hops_r) == 1 and ref.iterations[0].hops == 0
        e_l = position_errors(latest.X, X).rmse
        e_r = position_errors(ref.X, X).rmse
        assert e_r < e_l and e_r < 3 * mean_rmse, (v, e_r, e_l, mean_rmse)
    # "mean" has no chain: every aligned iteration is one hop from the first frame
    hops_m = {it.hops for it in iag_resolve(E, max_kept_iterations=None).iterations}
    assert hops_m <= {0, 1, -1}


@pytest.mark.parametrize("target", ["reference", "latest"])
def test_iag_chain_targets_recover_an_exact_configuration(target):
    X = random_points(3, 12)
    for v in ("sequential", "combinations"):
        r = iag_resolve(edm(X), variant=v, chain_target=target)
        assert position_errors(r.X, X).rmse < 1e-6


def test_iag_rejects_an_unknown_chain_target():
    with pytest.raises(ValueError, match="chain_target='first' is not allowed"):
        iag_resolve(edm(random_points(0, 5)), chain_target="first")
