"""The positioning table of paper A's chapter: neighbours computed once, sliced per k."""

import numpy as np
import pytest

from ipsbook.methods.dml.knn import KNNPositioner
from ipsbook.methods.dml.positioning import knn_table


def test_sliced_neighbours_equal_a_fresh_positioner_per_k():
    rng = np.random.default_rng(0)
    rss = rng.uniform(-90, -40, (60, 8))
    pos = rng.uniform(0, 30, (60, 2))
    floor = rng.integers(0, 3, 60)
    q = rng.uniform(-90, -40, (15, 8))
    q_pos = rng.uniform(0, 30, (15, 2))
    t = knn_table((rss, pos, floor, None), (q, q_pos, floor[:15], None),
                  {"euclidean": {"metric": "euclidean", "representation": "raw"}}, ks=(1, 3, 5))
    for k in (1, 3, 5):
        fresh = KNNPositioner(k=k, metric="euclidean", representation="raw",
                              progress=False).fit(rss, pos, floor).predict(q)
        err = np.linalg.norm(fresh.positions - q_pos, axis=1)
        row = t[t.k == k].iloc[0]
        assert np.isclose(row.mean_m, err.mean())
        assert np.isclose(row.floor_hit, np.mean(fresh.floor == floor[:15]))


def test_meta_distance_fn_equals_the_expression_on_pair_features():
    from ipsbook.methods.dml.distances import pair_features
    from ipsbook.methods.dml.meta import fit_meta_metric
    from ipsbook.methods.dml.positioning import meta_distance_fn

    rng = np.random.default_rng(1)
    db = np.where(rng.random((40, 10)) < 0.3, 100.0, rng.uniform(-95, -40, (40, 10)))
    db[:, 0] = -50.0  # every fingerprint hears at least one AP
    q = db[:7] + rng.normal(0, 2, (7, 10)) * (db[:7] != 100)
    metrics = ["euclidean", "cosine", "jaccard"]
    i, j = np.triu_indices(40, 1)
    F = pair_features(db, db, metrics, "positive", pairs_i=i, pairs_j=j, min_rss=-96.0)
    mm = fit_meta_metric(F, np.abs(i - j).astype(float), feature_names=metrics,
                         population=20, generations=2, seed=0, progress=False)
    D = meta_distance_fn(mm, metrics, "positive", min_rss=-96.0)(q, db)
    ii, jj = np.repeat(np.arange(7), 40), np.tile(np.arange(40), 7)
    ref = mm.evaluate(pair_features(q, db, metrics, "positive", pairs_i=ii, pairs_j=jj,
                                    min_rss=-96.0)).reshape(7, 40)
    np.testing.assert_allclose(D, ref, rtol=1e-5, atol=1e-6)


def _db(seed=0, n=80, m=8):
    rng = np.random.default_rng(seed)
    return (rng.uniform(-90, -40, (n, m)), rng.uniform(0, 30, (n, 2)), rng.integers(0, 3, n),
            rng.integers(0, 2, n))


def test_knn_table_keeps_per_query_errors_and_the_fields_metrics():
    from ipsbook import metrics

    rss, pos, floor, building = _db()
    q, qp, qf, qb = _db(1, n=20)
    t, errs = knn_table((rss, pos, floor, building), (q, qp, qf, qb),
                        {"euclidean": {"metric": "euclidean", "representation": "raw"}}, ks=(1, 3),
                        return_errors=True)
    assert set(errs) == {("euclidean", 1), ("euclidean", 3)}
    for k in (1, 3):
        row, e = t[t.k == k].iloc[0], errs[("euclidean", k)]
        assert np.isclose(row.mean_m, e["err"].mean())
        assert np.isclose(row.ce95_m, np.percentile(e["err"], 95))
        assert np.isclose(row.p75_m, np.percentile(e["err"], 75))
        assert np.isclose(row.evaal_m, e["evaal"].mean())
        assert np.all(e["evaal"] >= e["err"])
        fresh = KNNPositioner(k=k, metric="euclidean", representation="raw",
                              progress=False).fit(rss, pos, floor, building).predict(q)
        np.testing.assert_allclose(e["evaal"], metrics.evaal_errors(
            e["err"], fresh.floor, qf, fresh.building, qb))
        assert np.isclose(row.building_hit, np.mean(fresh.building == qb))


def test_sklearn_reference_predicts_positions_only():
    from ipsbook.methods.dml.positioning import SKLEARN_REFERENCE, sklearn_reference

    rss, pos, _floor, _ = _db()
    q, qp, qf, _ = _db(2, n=15)
    ref = sklearn_reference((rss, pos), (q, qp, qf, None), ks=(3,))
    ours = knn_table((rss, pos, None, None), (q, qp, None, None),
                     {"e": {"metric": "euclidean", "representation": "raw", "min_rss": -110}},
                     ks=(3,))
    assert ref.method.iloc[0] == SKLEARN_REFERENCE
    assert np.isclose(ref.mean_m.iloc[0], ours.mean_m.iloc[0])  # nothing missing: same kNN
    assert np.isnan(ref.floor_hit.iloc[0]) and np.isnan(ref.evaal_m.iloc[0])


def test_headline_table_gives_ground_metres_beside_the_data_units():
    import pandas as pd

    from ipsbook.methods.dml.positioning import headline_table

    knn = pd.DataFrame({"test_set": ["uji", "uji", "tut"], "method": ["a", "a", "a"],
                        "k": [1, 3, 3], "mean_m": [9.0, 13.05, 4.0], "median_m": 1.0,
                        "p75_m": 2.0, "ce95_m": 3.0, "floor_hit": 0.9, "building_hit": 1.0,
                        "evaal_m": 5.0})
    ranks = pd.DataFrame({"test_set": ["uji", "tut"], "method": ["a", "a"], "rank": [1, 2]})
    h = headline_table(knn, ranks, 3, {"uji": ("Web-Mercator m", 1.305), "tut": ("m", 1.0)})
    assert list(h["mean [ground m]"].round(6)) == [10.0, 4.0]
    assert list(h["rank (tie-aware)"]) == [1, 2]
    with pytest.raises(ValueError, match="no unit given for test set"):
        headline_table(knn, ranks, 3, {"uji": ("m", 1.0)})
    with pytest.raises(ValueError, match="k=5 is not in the table"):
        headline_table(knn, ranks, 5, {"uji": ("m", 1.0), "tut": ("m", 1.0)})
