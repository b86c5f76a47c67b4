"""Study 1 machinery of paper A: representations, metrics, scenarios, correlation study, kNN.

Every metric is checked against scipy.spatial.distance (or a hand-written formula for LGD/PLGD)
on random fingerprints with missing APs, through both entry points (all pairs, given pairs).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist
from sklearn.neighbors import KNeighborsRegressor

import ipsbook.methods.dml as D
from ipsbook.methods.dml import (
    METRICS,
    REPRESENTATIONS,
    KNNPositioner,
    LGDParams,
    Scenario,
    correlation_study,
    knn_report,
    pair_features,
    pairwise,
    represent,
    sample_pairs,
)

_default_root = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATA_ROOT = Path(os.environ.get("IPSBOOK_DATA_DIR", "").split(os.pathsep)[0] or _default_root)
needs_data = pytest.mark.skipif(
    not (DATA_ROOT / "ujiindoorloc").is_dir(), reason=f"real data not found under {DATA_ROOT}"
)


@pytest.fixture(autouse=True)
def _data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    if not os.environ.get("IPSBOOK_DATA_DIR"):
        monkeypatch.setenv("IPSBOOK_DATA_DIR", str(DATA_ROOT))


MISS = 100.0
SCIPY = {
    "euclidean": ("euclidean", {}),
    "manhattan": ("cityblock", {}),
    "chebyshev": ("chebyshev", {}),
    "minkowski3": ("minkowski", {"p": 3}),
    "cosine": ("cosine", {}),
    "correlation": ("correlation", {}),
    "braycurtis": ("braycurtis", {}),
    "canberra": ("canberra", {}),
    "sorensen": ("braycurtis", {}),  # equal on same-sign data (module docstring)
}


def lgd_reference(x, y, hx, hy, min_rss, p: LGDParams, penalised: bool) -> float:
    """LGD/PLGD of two dBm fingerprints, one AP at a time (the published formula)."""
    total = 0.0
    for k in range(len(x)):
        xk = x[k] if hx[k] else min_rss
        yk = y[k] if hy[k] else min_rss
        dens = math.exp(-((xk - yk) ** 2) / (2 * p.sigma**2)) / (p.sigma * math.sqrt(2 * math.pi))
        total -= math.log(max(dens, p.eps))
        if penalised:
            if hx[k] and not hy[k] and xk > p.tau:
                total += p.alpha * (xk - p.tau)
            if hy[k] and not hx[k] and yk > p.tau:
                total += p.alpha * (yk - p.tau)
    return total


def reference(metric, A, B, rep, min_rss):
    HA, HB = A != MISS, B != MISS
    if metric == "jaccard":
        return cdist(HA, HB, "jaccard")
    if metric in ("lgd", "plgd"):
        p = LGDParams()
        return np.array(
            [
                [lgd_reference(a, b, ha, hb, min_rss, p, metric == "plgd") for b, hb in zip(B, HB)]
                for a, ha in zip(A, HA)
            ]
        )
    name, kw = SCIPY[metric]
    XA = represent(A, rep, min_rss=min_rss)
    XB = represent(B, rep, min_rss=min_rss)
    return cdist(XA, XB, name, **kw)


@st.composite
def fingerprints(draw, n_rows):
    m = draw(st.integers(2, 9))
    rows = []
    for _ in range(n_rows):
        row = draw(
            st.lists(
                st.one_of(st.just(MISS), st.integers(-100, -25).map(float)), min_size=m, max_size=m
            )
        )
        if all(v == MISS for v in row):  # every fingerprint hears something (else: error)
            row[draw(st.integers(0, m - 1))] = float(draw(st.integers(-100, -25)))
        rows.append(row)
    return np.array(rows)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), rep=st.sampled_from(REPRESENTATIONS))
def test_every_metric_matches_its_reference(data, rep):
    A = data.draw(fingerprints(data.draw(st.integers(1, 4))))
    B = _draw_like(data, A)
    min_rss = -105.0
    i, j = (g.ravel() for g in np.meshgrid(np.arange(len(A)), np.arange(len(B)), indexing="ij"))
    feats = pair_features(A, B, METRICS, rep, pairs_i=i, pairs_j=j, min_rss=min_rss)
    for c, metric in enumerate(METRICS):
        ref = reference(metric, A, B, rep, min_rss)
        got_all = pairwise(A, B, metric, representation=rep, min_rss=min_rss, block=2)
        got_pairs = feats[:, c].reshape(len(A), len(B))
        finite = np.abs(ref[np.isfinite(ref)])  # a metric can be undefined (NaN) everywhere
        tol = {"rtol": 2e-5, "atol": 1e-5 * max(1.0, float(finite.max(initial=0.0)))}
        np.testing.assert_allclose(got_all, ref, err_msg=f"pairwise {metric}/{rep}", **tol)
        np.testing.assert_allclose(got_pairs, ref, err_msg=f"pair_features {metric}/{rep}", **tol)


def _draw_like(data, A):
    """Fingerprints with A's number of APs."""
    m = A.shape[1]
    n = data.draw(st.integers(1, 4))
    rows = []
    for _ in range(n):
        row = data.draw(
            st.lists(
                st.one_of(st.just(MISS), st.integers(-100, -25).map(float)), min_size=m, max_size=m
            )
        )
        if all(v == MISS for v in row):
            row[0] = -60.0
        rows.append(row)
    return np.array(rows)


def test_metrics_match_on_larger_random_sets():
    rng = np.random.default_rng(3)
    A = rng.uniform(-100, -20, (30, 60))
    A[rng.random(A.shape) < 0.8] = MISS
    A[:, 0] = -70.0
    B = rng.uniform(-100, -20, (25, 60))
    B[rng.random(B.shape) < 0.8] = MISS
    B[:, 1] = -80.0
    for rep in REPRESENTATIONS:
        for metric in METRICS:
            ref = reference(metric, A, B, rep, -105.0)
            got = pairwise(A, B, metric, representation=rep, min_rss=-105.0, block=7)
            np.testing.assert_allclose(
                got, ref, rtol=2e-5, atol=1e-5 * np.abs(ref).max(), err_msg=f"{metric}/{rep}"
            )


def test_iter_pairwise_features_matches_pair_features():
    rng = np.random.default_rng(5)
    A = rng.uniform(-100, -20, (11, 30))
    A[rng.random(A.shape) < 0.7] = MISS
    A[:, 2] = -75.0
    B = A[::-1].copy()
    B[0, 3] = -40.0
    ii = np.repeat(np.arange(11), 11)
    jj = np.tile(np.arange(11), 11)
    ref = pair_features(A, B, METRICS, "exponential", pairs_i=ii, pairs_j=jj).reshape(11, 11, -1)
    blocks = list(D.iter_pairwise_features(A, B, METRICS, "exponential", block=4))
    assert [ia.start for ia, _ in blocks] == [0, 4, 8]
    got = np.concatenate([F for _, F in blocks])
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


def test_jaccard_uses_only_the_sets_of_heard_aps():
    A = np.array([[-40.0, -90.0, -60.0, MISS, MISS]])
    B = np.array([[MISS, -45.0, -99.0, -70.0, MISS]])  # shares APs 1 and 2 of A's {0, 1, 2}
    for rep in REPRESENTATIONS:
        assert pairwise(A, B, "jaccard", representation=rep)[0, 0] == pytest.approx(1 - 2 / 4)
    assert pairwise(A, A, "jaccard")[0, 0] == 0.0


def test_lgd_and_plgd_on_a_hand_example():
    p = LGDParams(sigma=10.0, eps=1e-4, tau=-85.0, alpha=0.1)
    A = np.array([[-50.0, -70.0, MISS, MISS]])
    B = np.array([[-60.0, MISS, -80.0, MISS]])
    c = math.log(10.0 * math.sqrt(2 * math.pi))  # -log of the density at difference 0
    # AP0: 10 dB apart; AP1: -70 vs missing (-100): 30 dB; AP2: missing vs -80: 20 dB; AP3: both
    lgd = (100 / 200 + c) + (900 / 200 + c) + (400 / 200 + c) + c
    # PLGD: AP1 heard only in A, 15 dB above tau; AP2 heard only in B, 5 dB above tau
    plgd = lgd + 0.1 * (15.0 + 5.0)
    kw = {"min_rss": -100.0, "lgd_params": p}
    assert pairwise(A, B, "lgd", **kw)[0, 0] == pytest.approx(lgd, rel=1e-6)
    assert pairwise(A, B, "plgd", **kw)[0, 0] == pytest.approx(plgd, rel=1e-6)
    got = pair_features(A, B, ["lgd", "plgd"], "raw", **kw)[0]
    np.testing.assert_allclose(got, [lgd, plgd], rtol=1e-6)
    # a 40 dB difference saturates at -log(eps); LGD ignores the representation
    far = pairwise(np.array([[-60.0, -50.0]]), np.array([[MISS, -50.0]]), "lgd", **kw)[0, 0]
    assert far == pytest.approx(-math.log(1e-4) + c, rel=1e-6)
    for rep in REPRESENTATIONS:
        assert pairwise(A, B, "lgd", representation=rep, **kw)[0, 0] == pytest.approx(lgd, 1e-6)


# --- representations --------------------------------------------------------------------------


def test_representations_known_values():
    x = np.array([[-40.0, MISS, -100.0]])
    np.testing.assert_allclose(represent(x, "raw", min_rss=-101), [[-40, -101, -100]])
    np.testing.assert_allclose(represent(x, "positive", min_rss=-101), [[61, 0, 1]])
    np.testing.assert_allclose(
        represent(x, "exponential", min_rss=-101),
        [[math.exp(61 / 24) / math.exp(101 / 24), math.exp(-101 / 24), math.exp(-100 / 24)]],
    )
    np.testing.assert_allclose(
        represent(x, "powed", min_rss=-101), [[(61 / 101) ** math.e, 0.0, (1 / 101) ** math.e]]
    )
    # default: the weakest reading minus 1 dB (Torres-Sospedra et al.)
    np.testing.assert_allclose(represent(x, "positive"), [[61, 0, 1]])
    assert D.default_min_rss(x) == -101.0


@pytest.mark.parametrize("kind", REPRESENTATIONS)
def test_representations_are_monotone_and_put_missing_lowest(kind):
    rss = np.array([np.arange(-100.0, -9.0, 1.0)])
    out = represent(np.column_stack([rss, [[MISS]]]), kind, min_rss=-105)[0]
    assert np.all(np.diff(out[:-1]) > 0)  # strictly increasing in RSS
    assert out[-1] < out[:-1].min()  # missing below every heard value
    if kind in ("exponential", "powed"):
        assert out.max() <= 1.0 + 1e-12  # normalised by the 0 dBm value


def test_representation_errors():
    with pytest.raises(ValueError, match="allowed: raw, positive, exponential, powed"):
        represent(np.zeros((1, 3)) - 50, "log")
    with pytest.raises(ValueError, match="2-D"):
        represent(np.array([-50.0, MISS]))
    with pytest.raises(ValueError, match="NaN"):
        represent(np.array([[-50.0, np.nan]]))
    with pytest.raises(ValueError, match="not below the strongest"):
        represent(np.array([[-50.0, -60.0]]), min_rss=-40)
    with pytest.raises(ValueError, match="no AP is heard"):
        represent(np.array([[MISS, MISS]]))
    # a query weaker than min_rss is clipped to it (never below a missing AP)
    assert represent(np.array([[-120.0, -50.0]]), "positive", min_rss=-110)[0, 0] == 0.0


# --- pairs, errors ----------------------------------------------------------------------------


def test_sample_pairs():
    i, j = sample_pairs(5, 100, 0)
    assert len(i) == 10 and np.all(i < j)
    i, j = sample_pairs(100_000, 5000, np.random.default_rng(1))
    assert len(i) == 5000 and np.all(i < j) and j.max() < 100_000
    assert len(set(zip(i.tolist(), j.tolist()))) == 5000
    i2, j2 = sample_pairs(100_000, 5000, 1)
    np.testing.assert_array_equal(i, i2)
    np.testing.assert_array_equal(j, j2)
    # unranking is exact on every pair of a small set
    i, j = sample_pairs(40, 779, 0)  # all but one of the 780 pairs
    full_i, full_j = np.triu_indices(40, 1)
    assert set(zip(i.tolist(), j.tolist())) < set(zip(full_i.tolist(), full_j.tolist()))


def test_bad_inputs_raise_clear_errors():
    A = np.array([[-50.0, MISS, -70.0]])
    with pytest.raises(ValueError, match="metric='cityblok' is not known; allowed: euclidean"):
        pairwise(A, A, "cityblok")
    with pytest.raises(ValueError, match="A has 3 APs per fingerprint, B has 4"):
        pairwise(A, np.array([[-50.0, MISS, -70.0, -80.0]]), "euclidean")
    with pytest.raises(ValueError, match=r"B has 1 fingerprint\(s\) with no AP heard \(rows 1\)"):
        pairwise(A, np.array([[-50.0, MISS, -70.0], [MISS, MISS, MISS]]), "cosine")
    with pytest.raises(ValueError, match="representation='log'"):
        pair_features(A, A, ["euclidean"], "log")
    with pytest.raises(ValueError, match="metric='nope'"):
        pair_features(A, A, ["euclidean", "nope"])
    with pytest.raises(ValueError, match="out of range"):
        pair_features(A, A, ["euclidean"], pairs_i=np.array([0]), pairs_j=np.array([3]))


# --- correlation study ------------------------------------------------------------------------


def _line_scenario(n=60):
    x = np.linspace(0.0, 50.0, n)
    # two APs at the ends of a corridor: RSS falls linearly with the distance to each, so the
    # fingerprint distance is proportional to the physical one
    rss = np.column_stack([-30.0 - 0.8 * x, -90.0 + 0.8 * x, np.full(n, MISS)])
    return Scenario(
        "synthetic/line",
        "synthetic",
        "floor",
        rss,
        np.column_stack([x, 0 * x]),
        np.zeros(n, np.int64),
        np.zeros(n, np.int64),
        min_rss=-110.0,
    )


def test_correlation_study_is_one_when_fingerprints_follow_distance():
    s = _line_scenario()
    df = correlation_study(
        [s],
        ["euclidean", "manhattan", "chebyshev", "cosine"],
        ["raw", "positive"],
        max_pairs=10_000,
        rng=0,
    )
    assert list(df.columns) == [
        "scenario",
        "dataset",
        "granularity",
        "metric",
        "representation",
        "pearson",
        "spearman",
        "n_pairs",
    ]
    assert len(df) == 8 and (df["n_pairs"] == 60 * 59 // 2).all()
    lin = df[df.metric.isin(["euclidean", "manhattan", "chebyshev"])]
    assert (lin["spearman"] > 0.999).all() and (lin["pearson"] > 0.999).all()
    # pairs are reproducible and capped
    a = correlation_study(s, ["cosine"], ["raw"], max_pairs=500, rng=3)
    b = correlation_study(s, ["cosine"], ["raw"], max_pairs=500, rng=3)
    pd.testing.assert_frame_equal(a, b)
    assert a["n_pairs"].iloc[0] == 500
    with pytest.raises(ValueError, match="metric='l2'"):
        correlation_study(s, ["l2"])
    with pytest.raises(ValueError, match="physical='4d'"):
        correlation_study(s, ["cosine"], physical="4d")


def test_physical_distance_counts_floors_in_3d():
    s = _line_scenario(3)
    s = Scenario(
        s.name,
        s.dataset,
        "building",
        s.rss,
        np.zeros((3, 2)),
        np.array([0, 1, 3]),
        np.zeros(3, np.int64),
        floor_height=4.0,
    )
    np.testing.assert_allclose(s.physical_distance(np.array([0, 0]), np.array([1, 2])), [4, 12])
    np.testing.assert_allclose(s.physical_distance(np.array([0]), np.array([2]), "2d"), [0])


# --- kNN ---------------------------------------------------------------------------------------


def _synthetic_db(n=300, m=25, seed=0):
    rng = np.random.default_rng(seed)
    rss = rng.uniform(-100, -30, (n, m))
    rss[rng.random(rss.shape) < 0.5] = MISS
    rss[:, 0] = rng.uniform(-90, -40, n)  # every fingerprint hears AP 0
    pos = rng.uniform(0, 100, (n, 2))
    return rss, pos, rng.integers(0, 4, n), rng.integers(0, 2, n)


@pytest.mark.parametrize("metric", METRICS)
def test_knn_recovers_database_points_exactly(metric):
    rss, pos, floor, building = _synthetic_db()
    knn = KNNPositioner(1, True, metric, "positive").fit(rss, pos, floor, building)
    pred = knn.predict(rss[:50])
    np.testing.assert_allclose(pred.positions, pos[:50], atol=1e-9)
    np.testing.assert_array_equal(pred.floor, floor[:50])
    np.testing.assert_array_equal(pred.building, building[:50])
    r = knn_report(pred, (pos[:50], floor[:50], building[:50]))
    assert r["mean_m"] == pytest.approx(0.0, abs=1e-9) and r["floor_hit"] == 1.0


@pytest.mark.parametrize("k", [3, 5])
def test_knn_agrees_with_scikit_learn_on_synthetic_data(k):
    rss, pos, _, _ = _synthetic_db(seed=k)
    queries = _synthetic_db(n=80, seed=100 + k)[0]
    ours = KNNPositioner(k, True, "euclidean", "raw", min_rss=-110).fit(rss, pos).predict(queries)
    sk = KNeighborsRegressor(n_neighbors=k, weights="distance").fit(
        np.where(rss == MISS, -110, rss), pos
    )
    np.testing.assert_allclose(
        ours.positions, sk.predict(np.where(queries == MISS, -110, queries)), atol=1e-8
    )
    unweighted = KNNPositioner(k, False, min_rss=-110).fit(rss, pos).predict(queries).positions
    sk_u = KNeighborsRegressor(n_neighbors=k).fit(np.where(rss == MISS, -110, rss), pos)
    np.testing.assert_allclose(
        unweighted, sk_u.predict(np.where(queries == MISS, -110, queries)), atol=1e-8
    )


def test_knn_majority_vote_and_distance_fn():
    rss = np.array([[-50.0, MISS], [-52.0, MISS], [-54.0, MISS], [MISS, -40.0]])
    pos = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [50.0, 50.0]])
    floor = np.array([2, 2, 1, 0])
    knn = KNNPositioner(3, weighted=False).fit(rss, pos, floor)
    pred = knn.predict(np.array([[-51.0, MISS]]))
    assert pred.floor[0] == 2 and pred.building is None
    np.testing.assert_allclose(pred.positions, [[1.0, 0.0]])

    # a plugged-in distance gives the same as the built-in metric it computes
    def fn(Q, DB):
        return cdist(represent(Q, min_rss=-60), represent(DB, min_rss=-60))

    custom = KNNPositioner(2, distance_fn=fn).fit(rss, pos, floor).predict(rss[:2])
    builtin = KNNPositioner(2, min_rss=-60).fit(rss, pos, floor).predict(rss[:2])
    np.testing.assert_allclose(custom.positions, builtin.positions)
    bad = KNNPositioner(1, distance_fn=lambda Q, DB: np.zeros((len(Q), 2))).fit(rss, pos)
    with pytest.raises(ValueError, match=r"distance_fn returned shape \(1, 2\); expected \(1, 4\)"):
        bad.predict(rss[:1])


def test_knn_bad_inputs():
    rss, pos, floor, _ = _synthetic_db(n=20)
    with pytest.raises(ValueError, match="metric='cosin' is not known"):
        KNNPositioner(metric="cosin")
    with pytest.raises(ValueError, match="k=0"):
        KNNPositioner(0)
    with pytest.raises(RuntimeError, match="not fitted"):
        KNNPositioner().predict(rss)
    knn = KNNPositioner().fit(rss, pos, floor)
    with pytest.raises(
        ValueError, match="queries have 26 APs per fingerprint but the positioner was fitted on 25"
    ):
        knn.predict(np.column_stack([rss, rss[:, :1]]))
    empty = rss[:2].copy()
    empty[1] = MISS
    with pytest.raises(ValueError, match=r"the queries \(rss\) has 1 fingerprint\(s\) with no AP"):
        knn.predict(empty)
    with pytest.raises(ValueError, match=r"the database \(rss\) has 1 fingerprint"):
        KNNPositioner(1).fit(empty, pos[:2])
    with pytest.raises(ValueError, match="positions must be finite"):
        KNNPositioner().fit(rss, pos[:, :1])
    with pytest.raises(ValueError, match="floor must have shape"):
        KNNPositioner().fit(rss, pos, floor[:3])


# --- real data ----------------------------------------------------------------------------------


@needs_data
def test_ujiindoorloc_scenarios_and_a_tiny_study():
    scs = D.scenarios("ujiindoorloc")
    names = [s.name for s in scs]
    assert len(scs) == 1 + 3 + 13 and names[:4] == [
        "ujiindoorloc/whole",
        "ujiindoorloc/b0",
        "ujiindoorloc/b1",
        "ujiindoorloc/b2",
    ]
    whole = scs[0]
    assert whole.rss.shape == (19937 - 76, 520) and whole.positions.shape == (19861, 2)
    assert whole.min_rss == -105.0 and sum(len(s) for s in scs[1:4]) == len(whole)
    assert sum(len(s) for s in scs if s.granularity == "floor") == len(whole)
    b0f0 = next(s for s in scs if s.name == "ujiindoorloc/b0f0")
    assert set(b0f0.floor) == {0} and set(b0f0.building) == {0}
    df = correlation_study(
        [b0f0, scs[1]],
        ["euclidean", "cosine", "jaccard", "plgd"],
        ["raw", "powed"],
        max_pairs=3000,
        rng=0,
    )
    assert len(df) == 2 * 4 * 2 and df[["pearson", "spearman"]].abs().le(1).all().all()
    assert (df["n_pairs"] == 3000).all()
    # fingerprint distances do say something about physical distance, far from perfectly
    assert df["spearman"].between(0.05, 0.95).all()
    with pytest.raises(ValueError, match="dataset='uji'"):
        D.scenarios("uji")


@needs_data
def test_knn_agrees_with_scikit_learn_on_ujiindoorloc():
    from ipsbook.data import ujiindoorloc_arrays

    tr, va = ujiindoorloc_arrays("train"), ujiindoorloc_arrays("validation")
    keep = D.heard(tr.rss).any(axis=1)
    rss, pos = tr.rss[keep], tr.positions[keep]
    q = va.rss[::5]  # a subsample of 223 validation fingerprints
    k = 3
    ours = KNNPositioner(k, True, "euclidean", "raw", min_rss=-110).fit(rss, pos)
    pred = ours.predict(q).positions
    sk = KNeighborsRegressor(n_neighbors=k, weights="distance").fit(
        np.where(rss == MISS, -110, rss), pos
    )
    ref = sk.predict(np.where(q == MISS, -110, q))
    # where the k-th and (k+1)-th neighbours tie, either may be picked: compare the others
    d4, _ = KNNPositioner(k + 1, min_rss=-110).fit(rss, pos).kneighbors(q)
    clear = np.abs(d4[:, k] - d4[:, k - 1]) > 1e-6
    assert clear.mean() > 0.95
    np.testing.assert_allclose(pred[clear], ref[clear], atol=1e-6)


def test_correlation_with_a_constant_fingerprint_is_undefined_as_in_scipy():
    """A fingerprint whose represented values are all equal has no correlation with anything;
    the separable sums leave a rounding residue that once gave 0 (found by hypothesis)."""
    A = np.array([[MISS, -25.0]])
    B = np.array([[-26.0, -26.0]])
    for rep in REPRESENTATIONS:
        ref = reference("correlation", A, B, rep, -105.0)
        got = pairwise(A, B, "correlation", representation=rep, min_rss=-105.0)
        assert np.isnan(ref).all() and np.isnan(got).all(), rep
        feats = pair_features(A, B, ["correlation"], rep, pairs_i=np.array([0]),
                              pairs_j=np.array([0]), min_rss=-105.0)
        assert np.isnan(feats).all(), rep
