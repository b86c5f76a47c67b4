"""The Monte-Carlo driver of the FTM chapter (paper B): sweeps, scoring, failures as results."""

import numpy as np
import pytest

from ipsbook.methods.edm import edm, experiment
from ipsbook.radio import FTMModel


def test_every_method_is_exact_on_an_exact_complete_matrix():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 30, (12, 2))
    rows, stats = experiment.evaluate(edm(X), X, seed=0)
    by = {r["method"]: r for r in rows}
    assert set(by) == set(experiment.METHODS)
    for m, r in by.items():
        # scikit-learn's SMACOF stops at its own default tolerance, a few centimetres short
        tol = 0.1 if m == "SMACOF" else 1e-3
        assert r["error"] == "" and r["rmse_m"] < tol, (m, r)
    assert stats["k_var_before"] == pytest.approx(0, abs=1e-12)
    assert stats["wr_contractions"] == 0


def test_a_method_that_cannot_run_is_recorded_not_raised():
    X = np.array([[0, 0], [1, 0], [0, 1], [10, 10], [11, 10], [10, 11]], float)
    D = edm(X)
    D[:3, 3:] = D[3:, :3] = np.nan  # two disconnected triangles: nothing can join them
    rows, _ = experiment.evaluate(D, X, methods=("MDS", "wSMACOF"), seed=0)
    assert all(np.isnan(r["rmse_m"]) and r["error"] for r in rows)


def test_sweep_uses_the_same_plans_and_summarises():
    base = experiment.NetworkConfig(width_m=30, height_m=30, n_aps=8, n_walls=2,
                                    model=FTMModel(sigma_los=0.5))
    kw = dict(methods=("MDS", "wSMACOF"), progress=False)
    a = experiment.sweep("sigma_los", (0.0, 1.0), base, 2, seed=3, **kw)
    b = experiment.sweep("sigma_los", (0.0, 1.0), base, 2, seed=3, **kw)
    assert a.equals(b)  # deterministic
    # same floor plans at every value: the NLoS share depends on the plan, not on σ
    assert np.allclose(a[a.value == 0.0].nlos_share.to_numpy(), a[a.value == 1.0].nlos_share)
    s = experiment.summarise(a)
    assert len(s) == 2 * 2 and (s.ci_low_m <= s.rmse_m).all() and (s.failed == 0).all()
    t = experiment.sweep("n_walls", (0,), base, 1, wr_tolerance_sigma=3.0,
                         methods=("WR+MDS",), progress=False)
    assert t.k_var_after.notna().all()


def test_bad_names_are_rejected():
    with pytest.raises(ValueError, match="sweep variable 'colour' is not known"):
        experiment.NetworkConfig().with_value("colour", 1)
    with pytest.raises(ValueError, match="method='LSQ' is not known"):
        experiment.solve("LSQ", np.zeros((3, 3)))
    with pytest.raises(ValueError, match="needs anchors"):
        experiment.solve("TRI", edm(np.eye(3)))
    with pytest.raises(ValueError, match="n_plans=0"):
        experiment.sweep("n_aps", (5,), experiment.NetworkConfig(), 0, progress=False)
