"""The GP meta-metric (paper A, Study 2): finds known combinations, reproducible, safe operators."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import rankdata, spearmanr

from ipsbook.methods.dml.meta import (
    FITNESSES,
    FUNCTIONS,
    MetaMetric,
    _rank,
    _signed_corr,
    _standardise,
    fit_meta_metric,
)

NAMES = ("euclidean", "manhattan", "cosine", "jaccard", "canberra")
FAST = {"population": 200, "generations": 10, "progress": False}


def _features(n: int, seed: int) -> np.ndarray:
    """Positive, distance-like features with different units (as classical metrics have)."""
    rng = np.random.default_rng(seed)
    F = rng.uniform(0.05, 1.0, size=(n, len(NAMES)))
    return F * np.array([10.0, 100.0, 1.0, 1.0, 300.0])


def _single_feature_best(F: np.ndarray, y: np.ndarray) -> float:
    return max(abs(spearmanr(F[:, j], y).statistic) for j in range(F.shape[1]))


def _hypot(F: np.ndarray) -> np.ndarray:
    return np.sqrt(F[:, 0] ** 2 + (F[:, 1] / 10.0) ** 2)  # both terms span 0.5..10


def _ratio(F: np.ndarray) -> np.ndarray:
    return F[:, 2] / F[:, 0]


@pytest.fixture(scope="module")
def fitted() -> dict[str, tuple[MetaMetric, np.ndarray, np.ndarray]]:
    out = {}
    for name, f in (("hypot", _hypot), ("ratio", _ratio)):
        F = _features(2000, seed=1)
        out[name] = (fit_meta_metric(F, f(F), feature_names=NAMES, seed=0, **FAST), F, f(F))
    return out


@pytest.mark.parametrize("name,f", [("hypot", _hypot), ("ratio", _ratio)])
def test_finds_known_combination_and_beats_every_single_feature(fitted, name, f) -> None:
    mm, F, y = fitted[name]
    assert mm.fitness_train > 0.95, mm
    assert mm.fitness_train > _single_feature_best(F, y) + 0.05, (mm, _single_feature_best(F, y))
    # on unseen pairs too, and oriented as a distance (grows with physical distance)
    F_new = _features(3000, seed=2)
    corr = mm.correlation(F_new, f(F_new))
    assert corr["spearman"] > 0.95, (mm, corr)
    assert corr["spearman"] > _single_feature_best(F_new, f(F_new)), (mm, corr)
    assert set(corr) == {"pearson", "spearman"}
    assert len(mm.history) == FAST["generations"]
    assert np.isclose(max(mm.history), mm.fitness_train) or mm.fitness_train <= max(mm.history)


def test_same_seed_same_expression(fitted) -> None:
    mm, F, y = fitted["hypot"]
    again = fit_meta_metric(F, y, feature_names=NAMES, seed=0, **FAST)
    assert again.expression == mm.expression
    assert again == mm
    np.testing.assert_array_equal(again.evaluate(F), mm.evaluate(F))


def test_subsampled_generations_reproducible() -> None:
    F = _features(3000, seed=3)
    y = _ratio(F)
    kw = {"population": 60, "generations": 4, "max_pairs": 500, "seed": 5, "progress": False}
    a = fit_meta_metric(F, y, feature_names=NAMES, **kw)
    b = fit_meta_metric(F, y, feature_names=NAMES, **kw)
    assert a == b and a.settings["max_pairs"] == 500 and len(a.history) == 4
    # fitness_train is measured on all pairs, not on a subsample
    assert np.isclose(a.fitness_train, a.correlation(F, y)["spearman"])


def test_groups_score_within_scenario_correlation() -> None:
    """Two scenarios far apart: pooled, a scenario indicator looks informative; within each
    scenario only feature 0 is. With groups the GP must find feature 0's order."""
    rng = np.random.default_rng(11)
    n = 600
    F = _features(2 * n, seed=11)
    g = np.repeat(["siteA", "siteB"], n)
    F[:, 3] = (g == "siteB") + rng.normal(0, 0.01, 2 * n)  # "which site": useless within one
    y = F[:, 0] + np.where(g == "siteB", 1000.0, 0.0)
    pooled_best = abs(spearmanr(F[:, 3], y).statistic)
    assert pooled_best > 0.7  # the trap: beats feature 0 pooled
    shuffle = rng.permutation(2 * n)  # groups need not be contiguous
    mm = fit_meta_metric(F[shuffle], y[shuffle], groups=g[shuffle], feature_names=NAMES,
                         population=100, generations=5, max_pairs=400, progress=False)
    corr = mm.correlation(F, y, groups=g)
    per = [spearmanr(mm.evaluate(F[g == s]), y[g == s]).statistic for s in ("siteA", "siteB")]
    assert np.isclose(corr["spearman"], np.mean(per))
    assert np.isclose(mm.fitness_train, corr["spearman"])
    assert corr["spearman"] > 0.99, mm
    assert mm.settings["n_groups"] == 2


def test_pearson_fitness_and_negative_orientation() -> None:
    F = _features(1500, seed=4)
    y = 1.0 / F[:, 3]  # falls as feature 3 grows: the meta-metric must be flipped
    mm = fit_meta_metric(F, y, feature_names=NAMES, fitness="pearson", population=100,
                         generations=5, progress=False)
    corr = mm.correlation(F, y)
    assert corr["pearson"] > 0.9 and corr["spearman"] > 0.9, (mm, corr)
    assert np.isclose(mm.fitness_train, corr["pearson"])
    assert mm.fitness == "pearson"


def test_depth_limit_respected() -> None:
    F = _features(800, seed=6)
    mm = fit_meta_metric(F, _hypot(F), feature_names=NAMES, max_depth=3, population=100,
                         generations=6, parsimony=0.0, progress=False)
    oriented = mm.program[0] == "neg"  # "neg" is not in the default set: only orientation adds it
    assert mm.depth <= 3 + oriented, mm.expression


def test_evaluate_vectorised_and_finite_on_new_data(fitted) -> None:
    mm, _, _ = fitted["ratio"]
    rng = np.random.default_rng(7)
    F_new = _features(500, seed=8)
    F_new[:50] = 0.0  # identical fingerprints: every distance 0
    F_new[50:60] *= 1e250  # far outside the training range
    F_new[60:70] = -rng.uniform(0, 1e300, size=(10, len(NAMES)))
    d = mm.evaluate(F_new)
    assert d.shape == (500,) and d.dtype == np.float64
    assert np.all(np.isfinite(d))
    rowwise = np.array([mm.evaluate(F_new[i:i + 1])[0] for i in range(len(F_new))])
    np.testing.assert_array_equal(d, rowwise)
    assert mm.evaluate(np.empty((0, len(NAMES)))).shape == (0,)


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(arrays(np.float64, st.tuples(st.integers(1, 40)), elements=finite),
       arrays(np.float64, st.tuples(st.integers(1, 40)), elements=finite))
@settings(max_examples=150, deadline=None)
def test_protected_operators_never_nan_or_inf(a, b) -> None:
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    for name, (func, arity) in FUNCTIONS.items():
        with np.errstate(all="raise"):  # no floating-point warning escapes either
            out = func(a) if arity == 1 else func(a, b)
        assert out.shape == (n,), name
        assert np.all(np.isfinite(out)), (name, a, b, out)


def _random_program(rng: np.random.Generator, n_features: int, depth: int) -> list:
    if depth == 0 or rng.random() < 0.25:
        return [int(rng.integers(n_features))] if rng.random() < 0.7 else [float(rng.normal())]
    name = str(rng.choice(sorted(FUNCTIONS)))
    prog = [name]
    for _ in range(FUNCTIONS[name][1]):
        prog += _random_program(rng, n_features, depth - 1)
    return prog


@given(st.integers(0, 2**32 - 1),
       arrays(np.float64, st.tuples(st.integers(1, 20), st.just(3)), elements=finite))
@settings(max_examples=150, deadline=None)
def test_random_deep_programs_stay_finite(seed, X) -> None:
    rng = np.random.default_rng(seed)
    program = tuple(_random_program(rng, 3, depth=8))
    mm = MetaMetric(program=program, feature_names=("a", "b", "c"), scales=(1e-300, 1.0, 7.0))
    out = mm.evaluate(X)
    assert out.shape == (len(X),) and np.all(np.isfinite(out)), mm.expression


def test_fitness_guards_constant_and_non_finite_outputs() -> None:
    y = _standardise(rankdata(np.arange(50.0)))
    for kind in FITNESSES:
        assert _signed_corr(y, np.full(50, 3.0), kind) == 0.0
        assert _signed_corr(y, np.full(50, 1e-300), kind) == 0.0
        assert _signed_corr(y, np.r_[np.nan, np.arange(49.0)], kind) == 0.0
        assert _signed_corr(y, np.r_[np.inf, np.arange(49.0)], kind) == 0.0
        assert np.isclose(_signed_corr(y, np.arange(50.0) ** 3, "spearman"), 1.0)
    const = MetaMetric(program=(0.5,), feature_names=("a",), scales=(1.0,))
    assert const.correlation(np.arange(10.0)[:, None], np.arange(10.0)) == {
        "pearson": 0.0, "spearman": 0.0}


@given(arrays(np.float64, st.integers(0, 60),
              elements=st.sampled_from([-2.0, -0.0, 0.0, 1.0, 1.5, 3.0, 1e300])))
@settings(max_examples=100, deadline=None)
def test_rank_matches_scipy_with_ties(v) -> None:
    np.testing.assert_array_equal(_rank(v), rankdata(v))


def test_expression_rendering_and_json_roundtrip(tmp_path) -> None:
    program = ("neg", "div", "sub", 0, 1, "add", 2, -0.5)
    mm = MetaMetric(program=program, feature_names=("a", "b", "c"), scales=(2.0, 1.0, 4.0),
                    fitness_train=0.5, history=(0.4, 0.5), settings={"seed": np.int64(3)})
    assert mm.expression == "-((a - b) / (c + (-0.5)))"
    assert mm.expression_raw == "-(((a / 2) - b) / ((c / 4) + (-0.5)))"
    assert mm.features_used == ("a", "b", "c") and mm.depth == 3 and mm.length == 8
    X = np.array([[2.0, 3.0, 4.0], [4.0, 0.0, 2.0]])
    # row 2: c/4 - 0.5 == 0, so the protected division gives 1
    np.testing.assert_allclose(mm.evaluate(X), [-((1 - 3) / (1 - 0.5)), -1.0])
    path = tmp_path / "meta.json"
    path.write_text(json.dumps(mm.to_dict()))
    back = MetaMetric.from_dict(json.loads(path.read_text()))
    assert back == mm and back.expression == mm.expression
    np.testing.assert_array_equal(back.evaluate(X), mm.evaluate(X))
    with pytest.raises(ValueError, match="format"):
        MetaMetric.from_dict({"program": []})
    bad = mm.to_dict() | {"program": [{"op": "add"}, {"feature": 0, "name": "a"}]}
    with pytest.raises(ValueError, match="program"):
        MetaMetric.from_dict(bad)
    with pytest.raises(ValueError, match="program"):
        MetaMetric(program=("pow", 0, 1), feature_names=("a", "b"), scales=(1.0, 1.0))
    with pytest.raises(ValueError, match="program"):
        MetaMetric(program=(5,), feature_names=("a",), scales=(1.0,))


def test_fitted_roundtrip(fitted) -> None:
    mm, F, _ = fitted["hypot"]
    back = MetaMetric.from_dict(json.loads(json.dumps(mm.to_dict())))
    assert back == mm and back.settings["library"].startswith("gplearn")
    np.testing.assert_array_equal(back.evaluate(F), mm.evaluate(F))


def test_smoke_settings_run_with_progress_bar(capsys) -> None:
    F = _features(300, seed=9)
    from ipsbook.profiles import PROFILES, resolve

    gp = resolve("dml", "smoke").gp
    mm = fit_meta_metric(F, _hypot(F), feature_names=NAMES, **gp)
    assert all(set(resolve("dml", p).gp) == set(gp) for p in PROFILES)
    assert len(mm.history) == gp["generations"]
    assert "GP meta-metric" in capsys.readouterr().err
    assert np.isfinite(mm.evaluate(F)).all()


def _ok() -> dict:
    F = _features(30, seed=10)
    return {"F_train": F, "y_train": _hypot(F), "feature_names": NAMES,
            "population": 10, "generations": 1, "tournament": 3, "progress": False}


@pytest.mark.parametrize("change,param", [
    ({"y_train": np.arange(29.0)}, "y_train"),
    ({"y_train": np.ones((30, 1))}, "y_train"),
    ({"y_train": np.ones(30)}, "y_train"),
    ({"F_train": np.arange(30.0)}, "F_train"),
    ({"F_train": np.full((30, 5), np.nan)}, "F_train"),
    ({"feature_names": NAMES[:4]}, "feature_names"),
    ({"feature_names": ("a", "a", "b", "c", "d")}, "feature_names"),
    ({"feature_names": "abcde"}, "feature_names"),
    ({"fitness": "kendall"}, "fitness"),
    ({"population": 1}, "population"),
    ({"generations": 0}, "generations"),
    ({"tournament": 11}, "tournament"),
    ({"parsimony": -1.0}, "parsimony"),
    ({"max_depth": 1}, "max_depth"),
    ({"max_pairs": 3}, "max_pairs"),
    ({"functions": ("add", "pow")}, "functions"),
    ({"const_range": (1.0, -1.0)}, "const_range"),
    ({"n_jobs": 0}, "n_jobs"),
    ({"seed": -1}, "seed"),
    ({"groups": np.zeros(29)}, "groups"),
    ({"groups": np.r_[np.zeros(28), 1, 1]}, "groups"),  # a scenario of 2 pairs
    ({"groups": np.r_[np.zeros(27), 1, 1, 1], "y_train": np.r_[np.arange(27.0), 5, 5, 5]},
     "y_train"),  # constant within a scenario
])
def test_bad_input_names_the_parameter(change, param) -> None:
    kwargs = _ok() | change
    with pytest.raises(ValueError, match=param):
        fit_meta_metric(kwargs.pop("F_train"), kwargs.pop("y_train"), **kwargs)


def test_evaluate_and_correlation_bad_input(fitted) -> None:
    mm, F, y = fitted["ratio"]
    with pytest.raises(ValueError, match=r"^F: expected 5 columns"):
        mm.evaluate(F[:, :4])
    with pytest.raises(ValueError, match=r"^F: non-finite"):
        mm.evaluate(np.where(np.eye(len(F), 5, dtype=bool), np.inf, F))
    with pytest.raises(ValueError, match=r"^y: "):
        mm.correlation(F, y[:-1])
    with pytest.raises(ValueError, match=r"^groups: "):
        mm.correlation(F, y, groups=np.zeros(3))
    with pytest.raises(ValueError, match="fitness"):
        MetaMetric(program=(0,), feature_names=("a",), scales=(1.0,), fitness="kendall")
