"""The positioning table of paper A's chapter: neighbours computed once, sliced per k."""

import numpy as np

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
                  {"euclidean": dict(metric="euclidean", representation="raw")}, ks=(1, 3, 5))
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
