"""EDM toolkit of paper B: checks, alignment, classical MDS, SMACOF, trilateration, completion."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ipsbook.methods.edm import (
    align,
    check_distance_matrix,
    classical_mds,
    complete_shortest_path,
    dilation_factors,
    dilation_stats,
    edm,
    position_errors,
    smacof,
    smacof_sklearn,
    symmetrise,
    trilaterate,
    trilaterate_network,
)

coords = st.floats(-50.0, 50.0, allow_nan=False, allow_infinity=False)


@st.composite
def configurations(draw, min_n: int = 4, max_n: int = 30, dim: int = 2) -> np.ndarray:
    """Random non-degenerate configurations: points from a seeded RNG, stretched and shifted."""
    n = draw(st.integers(min_n, max_n))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    stretch = np.array([draw(st.floats(0.2, 5.0)) for _ in range(dim)])
    shift = np.array([draw(coords) for _ in range(dim)])
    X = rng.uniform(-10.0, 10.0, (n, dim)) * stretch + shift
    # non-degenerate: spread along every axis (no near-collinear sets) and no coincident points
    sv = np.linalg.svd(X - X.mean(0), compute_uv=False)
    assume(sv[-1] > 0.1 * sv[0])
    assume(edm(X)[np.triu_indices(n, 1)].min() > 1e-3)
    return X


def rotation(theta: float) -> np.ndarray:
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


@pytest.fixture
def square_grid() -> np.ndarray:
    g = np.arange(4.0) * 5.0
    return np.array([(x, y) for x in g for y in g]) + np.array([0.3, -0.7])


# --------------------------------------------------------------------------- classical MDS


@settings(max_examples=40, deadline=None)
@given(configurations())
def test_classical_mds_recovers_exact_edm_up_to_rigid_motion(X):
    res = classical_mds(edm(X), dim=2)
    assert position_errors(res.X, X).rmse < 1e-6
    lam = res.eigenvalues
    assert np.all(np.diff(lam) <= 1e-9 * lam[0])  # descending
    assert res.rank_estimate == 2
    assert res.n_negative == 0
    assert np.all(np.abs(lam[2:]) < 1e-8 * lam[0])
    assert res.negative_mass < 1e-8


def test_classical_mds_noise_brings_negative_eigenvalues(square_grid):
    rng = np.random.default_rng(0)
    D = edm(square_grid)
    noisy = D + np.abs(rng.normal(0.0, 1.0, D.shape))  # FTM-like positive bias, asymmetric
    np.fill_diagonal(noisy, 0.0)
    res = classical_mds(noisy, dim=2)
    assert res.n_negative > 0
    assert 0 < res.negative_mass < 0.5
    assert res.rank_estimate > 2  # with the default, numerical-rank threshold
    assert classical_mds(noisy, dim=2, rank_tol=0.2).rank_estimate == 2
    assert position_errors(res.X, square_grid).rmse < 1.5


def test_classical_mds_missing_entries(square_grid):
    D = edm(square_grid)
    D[0, 5] = D[5, 0] = np.nan
    with pytest.raises(ValueError, match="missing.*complete"):
        classical_mds(D)
    res = classical_mds(D, complete="shortest_path")
    assert res.X.shape == (16, 2)
    assert position_errors(res.X, square_grid).rmse < 1.0


def test_classical_mds_symmetrises_by_mean(square_grid):
    D = edm(square_grid)
    A = D.copy()
    A[0, 1] += 1.0
    A[1, 0] -= 1.0
    np.testing.assert_allclose(classical_mds(A).X, classical_mds(D).X, atol=1e-9)


# --------------------------------------------------------------------------- alignment


def test_align_recovers_rotation_translation_reflection(square_grid):
    F = np.diag([1.0, -1.0])
    R_true = F @ rotation(0.7)
    t_true = np.array([3.0, -2.0])
    Y = square_grid @ R_true + t_true  # Y = image of the truth; align it back
    aligned, R, t = align(Y, square_grid)
    np.testing.assert_allclose(aligned, square_grid, atol=1e-9)
    np.testing.assert_allclose(R, R_true.T, atol=1e-9)
    np.testing.assert_allclose(Y @ R + t, aligned, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(configurations(max_n=12), st.floats(0, 2 * np.pi), st.booleans())
def test_align_without_reflection_never_reflects(X, theta, flip):
    Y = X @ rotation(theta) * (np.array([1.0, -1.0]) if flip else 1.0)
    aligned, R, _ = align(Y, X, reflection=False)
    assert np.linalg.det(R) == pytest.approx(1.0)
    np.testing.assert_allclose(R @ R.T, np.eye(2), atol=1e-9)
    if not flip:
        np.testing.assert_allclose(aligned, X, atol=1e-6)
    else:
        assert position_errors(Y, X, reflection=False).rmse > 1e-3
        assert position_errors(Y, X, reflection=True).rmse < 1e-6


def test_align_does_not_scale(square_grid):
    Y = 2.0 * square_grid
    _, R, _ = align(Y, square_grid)
    np.testing.assert_allclose(R @ R.T, np.eye(2), atol=1e-12)
    assert position_errors(Y, square_grid).rmse > 1.0


def test_position_errors_nan_rows_are_unplaced(square_grid):
    Y = square_grid @ rotation(1.0) + 4.0
    Y[[2, 7]] = np.nan
    res = position_errors(Y, square_grid)
    assert res.n_unplaced == 2
    assert res.rmse < 1e-9
    assert np.isnan(res.errors[[2, 7]]).all() and np.isnan(res.aligned[[2, 7]]).all()
    assert np.isfinite(np.delete(res.errors, [2, 7])).all()


def test_align_bad_shapes(square_grid):
    with pytest.raises(ValueError, match="X_est has shape"):
        align(square_grid[:5], square_grid)
    with pytest.raises(ValueError, match="no placed point"):
        align(np.full_like(square_grid, np.nan), square_grid)


# --------------------------------------------------------------------------- SMACOF


def test_smacof_unweighted_recovers_exact_configuration(square_grid):
    res = smacof(edm(square_grid), dim=2, seed=1)
    assert position_errors(res.X, square_grid).rmse < 1e-6
    assert res.stress < 1e-10


@pytest.mark.parametrize("mask_with", ["nan", "weight0"])
def test_weighted_smacof_ignores_masked_pairs(square_grid, mask_with):
    D = edm(square_grid)
    bad = [(0, 5), (3, 12), (6, 15), (1, 10)]
    corrupt = D.copy()
    for i, j in bad:
        corrupt[i, j] = corrupt[j, i] = 1000.0
    W = np.ones_like(D)
    masked = corrupt.copy()
    for i, j in bad:
        if mask_with == "nan":
            masked[i, j] = masked[j, i] = np.nan
        else:
            W[i, j] = W[j, i] = 0.0
    res = smacof(masked, weights=W, n_init=2)
    assert position_errors(res.X, square_grid).rmse < 1e-3
    unmasked = smacof(corrupt, n_init=2)
    assert position_errors(unmasked.X, square_grid).rmse > 1.0


def test_smacof_is_deterministic_and_asymmetric_equals_mean(square_grid):
    rng = np.random.default_rng(3)
    D = edm(square_grid) + rng.normal(0, 0.3, (16, 16))
    D = np.abs(D)
    np.fill_diagonal(D, 0.0)
    a = smacof(D, seed=5)
    b = smacof(D, seed=5)
    np.testing.assert_array_equal(a.X, b.X)
    # equal weights: the ordered-pair problem is the mean-symmetrised one
    c = smacof(symmetrise(D, "mean"), seed=5)
    np.testing.assert_allclose(a.X, c.X, atol=1e-8)
    assert a.stress == pytest.approx(c.stress)


def test_smacof_bad_input(square_grid):
    D = edm(square_grid)
    with pytest.raises(ValueError, match="weights has shape"):
        smacof(D, weights=np.ones((3, 3)))
    with pytest.raises(ValueError, match="weights must be finite"):
        smacof(D, weights=-np.ones_like(D))
    W = np.ones_like(D)
    W[:8, 8:] = W[8:, :8] = 0.0
    with pytest.raises(ValueError, match="disconnected"):
        smacof(D, weights=W)
    with pytest.raises(ValueError, match="init has shape"):
        smacof(D, init=np.zeros((16, 3)))


def test_smacof_sklearn_recovers_exact_configuration(square_grid):
    X = square_grid[:10]
    Y = smacof_sklearn(edm(X), dim=2, seed=0, eps=1e-10, max_iter=3000)
    assert position_errors(Y, X).rmse < 1e-2
    with pytest.raises(ValueError, match="NaN"):
        D = edm(X)
        D[0, 1] = np.nan
        smacof_sklearn(D)


# --------------------------------------------------------------------------- trilateration


@pytest.mark.parametrize("m", [3, 4, 6])
def test_trilaterate_exact(m):
    rng = np.random.default_rng(m)
    anchors = rng.uniform(0, 20, (m, 2))
    x = np.array([7.3, 4.1])
    ranges = np.linalg.norm(anchors - x, axis=1)
    np.testing.assert_allclose(trilaterate(anchors, ranges), x, atol=1e-8)


def test_trilaterate_3d_and_noisy_refinement():
    anchors = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 3], [10, 10, 3.0]])
    x = np.array([3.0, 6.0, 1.5])
    ranges = np.linalg.norm(anchors - x, axis=1)
    np.testing.assert_allclose(trilaterate(anchors, ranges), x, atol=1e-8)
    noisy = ranges + np.array([0.2, -0.1, 0.15, 0.0, -0.2])
    est = trilaterate(anchors, noisy)
    assert np.linalg.norm(est - x) < 1.0


def test_trilaterate_too_few_ranges_and_shapes():
    anchors = np.array([[0, 0], [10, 0], [0, 10], [10, 10.0]])
    ranges = np.array([5.0, np.nan, np.nan, 9.0])
    assert np.isnan(trilaterate(anchors, ranges)).all()
    assert np.isnan(trilaterate(anchors, [5, 5, 5, 5], weights=[1, 0, 0, 1])).all()
    with pytest.raises(ValueError, match="ranges has shape"):
        trilaterate(anchors, [1.0, 2.0])
    with pytest.raises(ValueError, match="anchors"):
        trilaterate(np.zeros(4), [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="ranges must be finite"):
        trilaterate(anchors, [1.0, -2.0, 3.0, 4.0])


def test_trilaterate_network(square_grid):
    D = edm(square_grid)
    anchors = [0, 3, 12, 15]
    D[5, [0, 3]] = D[[0, 3], 5] = np.nan  # point 5: only 2 anchor ranges left
    X = trilaterate_network(D, anchors, square_grid[anchors])
    np.testing.assert_array_equal(X[anchors], square_grid[anchors])
    assert np.isnan(X[5]).all()
    ok = np.delete(np.arange(16), 5)
    np.testing.assert_allclose(X[ok], square_grid[ok], atol=1e-8)
    with pytest.raises(ValueError, match="anchor_idx"):
        trilaterate_network(D, [0, 0, 3], square_grid[[0, 0, 3]])
    with pytest.raises(ValueError, match="anchor_pos has 3 rows"):
        trilaterate_network(D, anchors, square_grid[:3])


# --------------------------------------------------------------------------- completion, dilation


def test_complete_shortest_path():
    X = np.array([[0, 0], [1, 0], [3, 0], [3, 4.0]])
    D = edm(X)
    np.testing.assert_array_equal(complete_shortest_path(D), D)  # complete: unchanged
    M = D.copy()
    M[0, 2] = M[2, 0] = np.nan  # collinear 0-1-2: the path through 1 is exact
    M[1, 3] = np.nan  # one direction only: takes the other
    C = complete_shortest_path(M)
    np.testing.assert_allclose(C, D)
    G = D.copy()
    G[:2, 2:] = G[2:, :2] = np.nan
    with pytest.raises(ValueError, match=r"disconnected \(2 components: \[\[0, 1\], \[2, 3\]\]\)"):
        complete_shortest_path(G)


def test_dilation_factors(square_grid):
    D = edm(square_grid)
    k = dilation_factors(D, square_grid)
    assert k.shape == (16 * 15,)
    np.testing.assert_allclose(k, 1.0)
    np.testing.assert_allclose(dilation_factors(1.1 * D, D), 1.1)
    M = D.copy()
    M[0, 1] = np.nan
    M[2, 3] = 2 * D[2, 3]
    k = dilation_factors(M, square_grid)
    assert k.size == 16 * 15 - 1
    K = dilation_factors(M, square_grid, as_matrix=True)
    assert np.isnan(K[0, 1]) and np.isnan(np.diagonal(K)).all() and K[2, 3] == pytest.approx(2)
    s = dilation_stats(k)
    assert set(s) == {"mean", "std", "var", "median", "p95"}
    assert s["median"] == pytest.approx(1.0) and s["var"] == pytest.approx(s["std"] ** 2)
    assert dilation_stats(np.ones(5)) == {"mean": 1, "std": 0, "var": 0, "median": 1, "p95": 1}
    with pytest.raises(ValueError, match="no finite"):
        dilation_stats([np.nan])


def test_symmetrise_semantics_with_nans():
    nan = np.nan
    D = np.array([[0, 2, nan, nan], [4, 0, 5, nan], [1, nan, 0, 3], [nan, nan, 3, 0.0]])
    for how, d01 in [("mean", 3.0), ("min", 2.0), ("max", 4.0)]:
        S = symmetrise(D, how)
        np.testing.assert_array_equal(S, S.T)
        assert S[0, 1] == d01
        assert S[0, 2] == 1.0 and S[1, 2] == 5.0  # one direction missing: the other
        assert np.isnan(S[0, 3]) and np.isnan(S[1, 3])  # both missing stays missing
        assert S[2, 3] == 3.0
    assert np.isnan(D[0, 2])  # input untouched
    with pytest.raises(ValueError, match="how='median'"):
        symmetrise(D, "median")


# --------------------------------------------------------------------------- bad input


GOOD = edm(np.array([[0, 0], [3, 0], [0, 4.0], [3, 4.0]]))


def _with(i, j, v, base=GOOD):
    A = base.copy()
    A[i, j] = v
    return A


@pytest.mark.parametrize(
    ("D", "kwargs", "match"),
    [
        (np.zeros((3, 4)), {}, r"square.*shape \(3, 4\)"),
        (np.zeros(4), {}, r"square.*shape \(4,\)"),
        (_with(0, 1, -1.0), {}, r"D\[0, 1\] = -1.0 is negative"),
        (_with(0, 1, np.nan), {"allow_missing": False}, r"D\[0, 1\] is NaN.*not allowed"),
        (_with(0, 1, np.inf), {}, r"D\[0, 1\] = inf is infinite"),
        (_with(0, 1, 7.0), {"symmetric": True}, r"must be symmetric.*D\[0, 1\] = 7.0"),
        (GOOD[:2, :2], {}, r"has 2 points; needs at least dim\+1 = 3 points"),
        (GOOD, {"min_points": 5}, r"has 4 points; needs at least dim\+1 = 5"),
        (_with(1, 1, 0.5), {}, r"D\[1, 1\] = 0.5; the diagonal .* must be 0"),
        (_with(2, 2, np.nan), {}, r"D\[2, 2\] = nan; the diagonal"),
        ([["a", "b"], ["c", "d"]], {}, "numeric"),
    ],
)
def test_check_distance_matrix_rejects(D, kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_distance_matrix(D, **kwargs)


def test_check_distance_matrix_accepts_and_copies():
    D = _with(0, 1, np.nan)
    A = check_distance_matrix(D, name="D_ftm")
    assert A is not D and A.dtype == float
    A[0, 2] = 99.0
    assert D[0, 2] != 99.0
    with pytest.raises(ValueError, match=r"D_ftm\[0, 1\] = -2.0"):
        check_distance_matrix(_with(0, 1, -2.0), name="D_ftm")
    asym = _with(0, 1, 3.5)
    check_distance_matrix(asym)  # asymmetric is fine unless symmetric=True
    check_distance_matrix(D, symmetric=True)  # one direction missing is not an asymmetry


def test_classical_mds_bad_arguments():
    with pytest.raises(ValueError, match="dim=0"):
        classical_mds(GOOD, dim=0)
    with pytest.raises(ValueError, match=r"needs at least dim\+1 = 5"):
        classical_mds(GOOD, dim=4)
    with pytest.raises(ValueError, match="complete='knn'"):
        classical_mds(GOOD, complete="knn")
