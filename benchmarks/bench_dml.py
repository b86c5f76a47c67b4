"""Speed of paper A's fingerprint distances (issue 6, "Speed"): the correlation study and kNN.

Two parts, both on UJIIndoorLoc (fingerprints with no AP heard are dropped first, as the chapter
does):

1. **The correlation study** of one building, ``scenarios("ujiindoorloc", ("building",))[0]``
   (building 0): ``correlation_study(sc, METRICS, REPRESENTATIONS, max_pairs=200_000, rng=0)``,
   end to end. Then, per metric, pairs per second on the ``raw`` representation: ours on the
   study's own sampled pairs (``pair_features``), ours on all pairs of a 2,000-fingerprint subset
   (``pairwise``), and scipy's ``pdist`` on the same subset (the peer, for the metrics scipy has).
2. **kNN querying**: the UJIIndoorLoc validation set against the training set,
   ``KNNPositioner(k=3, metric=m, representation="raw")`` for every metric, the meta-metric
   (``positioning.meta_distance_fn`` of a small GP run) and the DML embedding
   (``train.embedding_distance_fn`` of a tiny trained MLP), with scikit-learn's brute-force
   ``KNeighborsRegressor(n_neighbors=3, weights="distance")`` on raw RSS as the peer.

Each timed thing gets one untimed warm-up call, then R timed repeats *interleaved* within its part
(repeat 1 of every method, then repeat 2, ...), and the best of R ``time.perf_counter`` wall times
is kept (the median beside it). See ``benchmarks/README.md``.

    python benchmarks/bench_dml.py                  # 200k pairs, 2,000-subset, all queries, R = 3
    python benchmarks/bench_dml.py --quick          # 20k pairs, 500-subset, 200 queries, R = 1
    python benchmarks/bench_dml.py --repeats 5 --out /tmp/bench

Results: ``<out>/dml_speed.json`` (everything), ``<out>/dml_speed.csv`` (one row per timing), and
a table on stdout. ``run(...)`` is the same thing as a function (the tests call it).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ipsbook.book import benchio
from ipsbook.book.benchio import csv_number as _fmt
from ipsbook.book.benchio import log
from ipsbook.methods.dml import distances, meta, positioning, representations, train
from ipsbook.methods.dml.knn import KNNPositioner, knn_report

# the package re-exports the function `scenarios`, which hides the module of the same name
scenarios_mod = importlib.import_module("ipsbook.methods.dml.scenarios")

HERE = Path(__file__).resolve().parent
SCHEMA = 1
BENCHMARK = "dml_speed"
DEFAULT_OUT = HERE / "results"
DEFAULT_REPEATS = 3
QUICK = {"max_pairs": 20_000, "subset": 500, "queries": 200, "repeats": 1}

DATASET = "ujiindoorloc"
BUILDING = 0  # scenarios(DATASET, ("building",))[BUILDING]
MAX_PAIRS = 200_000  # the study's pairs (issue 6)
SUBSET = 2_000  # fingerprints whose all pairs ours and scipy's pdist both compute
PAIR_REPRESENTATION = "raw"  # the per-metric comparison with scipy
K = 3
KNN_REPRESENTATION = "raw"
# meta-metric (Study 2) and embedding (Study 3), small: their kNN cost is what is timed
GP_PAIRS, GP_POPULATION, GP_GENERATIONS = 4_000, 30, 2
EMB_REPRESENTATION = "powed"  # the chapter's dml_representation
EMB_KW = {"epochs": 1, "steps_per_epoch": 5, "hidden": (64,), "out_dim": 16, "num_threads": 1}

# scipy.spatial.distance names of our metrics (LGD and PLGD have none). Sorensen's peer is
# scipy's braycurtis: the two are equal on same-sign representations (every one here).
SCIPY_METRICS: dict[str, tuple[str, dict[str, Any]]] = {
    "euclidean": ("euclidean", {}),
    "manhattan": ("cityblock", {}),
    "chebyshev": ("chebyshev", {}),
    "minkowski3": ("minkowski", {"p": 3}),
    "cosine": ("cosine", {}),
    "correlation": ("correlation", {}),
    "braycurtis": ("braycurtis", {}),
    "canberra": ("canberra", {}),
    "sorensen": ("braycurtis", {}),
    "jaccard": ("jaccard", {}),  # on the boolean heard sets, as ours
}


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------

def _subsample(n: int, size: int | None, seed: Sequence[int]) -> np.ndarray:
    """Sorted indices of ``size`` of ``n`` rows (all rows when ``size`` is None or >= n)."""
    if size is None or size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(list(seed)).choice(n, size=int(size), replace=False))


def load_scenario(scenario_size: int | None, seed: int) -> Any:
    """Building 0 of UJIIndoorLoc's training file (empty fingerprints already dropped by
    ``scenarios``), optionally a seeded subsample of ``scenario_size`` fingerprints."""
    sc = scenarios_mod.scenarios(DATASET, ("building",))[BUILDING]
    keep = _subsample(len(sc), scenario_size, (seed, 4))
    if len(keep) < len(sc):
        sc = dataclasses.replace(sc, rss=sc.rss[keep], positions=sc.positions[keep],
                                 floor=sc.floor[keep], building=sc.building[keep])
    return sc


def load_knn_data(db_size: int | None, queries: int | None, seed: int) -> dict[str, Any]:
    """UJIIndoorLoc training (database) and validation (queries), both without empty
    fingerprints; optionally seeded subsamples."""
    from ipsbook.data import ujiindoorloc_arrays

    out: dict[str, Any] = {}
    for role, split, size, s in (("db", "train", db_size, 3), ("q", "validation", queries, 2)):
        a = ujiindoorloc_arrays(split)
        keep = representations.heard(a.rss).any(axis=1)
        idx = np.flatnonzero(keep)[_subsample(int(keep.sum()), size, (seed, s))]
        out[role] = {"rss": a.rss[idx], "positions": a.positions[idx], "floor": a.floor[idx],
                     "building": a.building[idx]}
        out[f"{role}_info"] = {"split": split, "rows_in_file": len(a.rss),
                               "dropped_empty": int((~keep).sum()), "used": len(idx)}
    return out


# --------------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------------

def _row(section: str, key: str, what: str, n_items: int, unit: str, repeats: int) -> dict:
    return {"section": section, "method": key, "what": what, "n_items": int(n_items),
            "unit": unit, "repeats": repeats, "seconds": None, "seconds_median": None,
            "times": [], "warmup_seconds": None, "per_second": None, "fit_seconds": None,
            "fit_times": [], "peak_traced_bytes": None, "skipped": None, "info": {}}


def time_interleaved(jobs: dict[str, dict[str, Any]], repeats: int, verbose: bool,
                     trace: bool = False) -> None:
    """Warm-up each job, then ``repeats`` interleaved rounds (:func:`benchio.time_interleaved`);
    results go into ``job["row"]``. A job is ``{"row", "run": fn()}`` or, for kNN, ``{"row",
    "fit": fit(), "run": predict(fitted)}``: then every round fits (timed into ``fit_times``)
    and predicts (timed into ``times``). ``"check": f(result)`` (optional) adds information
    from the warm-up's result to the row. With ``trace``, the warm-up calls run under
    tracemalloc."""
    benchio.time_interleaved(jobs, repeats, verbose, trace_warmup=trace)


# --------------------------------------------------------------------------------------------
# part 1: the correlation study, and pairs per second against scipy
# --------------------------------------------------------------------------------------------

def study_pairs(sc: Any, max_pairs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs ``correlation_study(sc, ..., max_pairs, rng=seed)`` draws (same stream)."""
    gen = np.random.default_rng([seed, zlib.crc32(sc.name.encode())])
    return distances.sample_pairs(len(sc), max_pairs, gen)


def _scipy_fn(metric: str, rss: np.ndarray, min_rss: float) -> Callable[[], np.ndarray]:
    from scipy.spatial.distance import pdist

    name, kw = SCIPY_METRICS[metric]
    if metric == "jaccard":
        return lambda: pdist(representations.heard(rss), name)
    return lambda: pdist(representations.represent(rss, PAIR_REPRESENTATION, min_rss=min_rss),
                         name, **kw)


def _diff_check(ours_fn: Callable[[], np.ndarray], n: int) -> Callable[[np.ndarray], dict]:
    """Compare scipy's condensed result with ours on the same subset (information)."""
    iu = np.triu_indices(n, 1)

    def check(res: np.ndarray) -> dict[str, Any]:
        ours = ours_fn()[iu].astype(np.float64)
        diff = np.abs(ours - res)
        rel = diff / np.maximum(np.abs(res), 1e-12)
        return {"max_abs_diff_vs_ours": float(diff.max()) if diff.size else 0.0,
                "max_rel_diff_vs_ours": float(rel.max()) if rel.size else 0.0,
                "agrees_float32": bool(np.allclose(ours, res, rtol=1e-5, atol=1e-6))}

    return check


def part_study(sc: Any, metrics: Sequence[str], reps: Sequence[str], max_pairs: int,
               subset: int, repeats: int, seed: int, verbose: bool) -> dict[str, Any]:
    i, j = study_pairs(sc, max_pairs, seed)
    n_pairs = int(i.size)
    sub = _subsample(len(sc), subset, (seed, 1))
    sub_rss = sc.rss[sub]
    n_sub = len(sub)
    sub_pairs = n_sub * (n_sub - 1) // 2
    kw = {"min_rss": sc.min_rss}
    log(verbose, f"part 1: {sc.name}, {len(sc)} fingerprints, {n_pairs:,} pairs; "
         f"subset {n_sub} ({sub_pairs:,} pairs)")

    study_job = {"row": _row("study", "correlation_study",
                             f"correlation_study({sc.name}, {len(metrics)} metrics, "
                             f"{len(reps)} representations)", n_pairs, "pairs", repeats),
                 "run": lambda: scenarios_mod.correlation_study(
                     sc, metrics=list(metrics), representations=list(reps),
                     max_pairs=max_pairs, rng=seed, progress=False)}
    holder: dict[str, Any] = {}

    def keep_study(df: Any) -> dict[str, Any]:
        holder["study"] = df  # the meta-metric's feature representation comes from it
        return {"rows": len(df)}

    study_job["check"] = keep_study
    jobs: dict[str, dict[str, Any]] = {"correlation_study": study_job}
    for m in metrics:
        jobs[f"ours_sampled/{m}"] = {
            "row": _row("pairs", f"ours_sampled/{m}",
                        f"pair_features(sc.rss, sc.rss, [{m!r}], {PAIR_REPRESENTATION!r}, "
                        "study pairs)", n_pairs, "pairs", repeats),
            "run": lambda m=m: distances.pair_features(
                sc.rss, sc.rss, [m], PAIR_REPRESENTATION, pairs_i=i, pairs_j=j, **kw)}

        def ours_all(m: str = m) -> np.ndarray:
            return distances.pairwise(sub_rss, sub_rss, m, representation=PAIR_REPRESENTATION,
                                      progress=False, **kw)

        jobs[f"ours_allpairs/{m}"] = {
            "row": _row("pairs", f"ours_allpairs/{m}",
                        f"pairwise(subset, subset, {m!r}, {PAIR_REPRESENTATION!r}) "
                        f"(all {n_sub}x{n_sub}, a full matrix)", sub_pairs, "pairs", repeats),
            "run": ours_all}
        if m in SCIPY_METRICS:
            name, skw = SCIPY_METRICS[m]
            call = (f"pdist(heard(subset), {name!r})" if m == "jaccard" else
                    f"pdist(represent(subset, {PAIR_REPRESENTATION!r}), {name!r}"
                    + "".join(f", {k}={v!r}" for k, v in skw.items()) + ")")
            jobs[f"scipy_pdist/{m}"] = {
                "row": _row("pairs", f"scipy_pdist/{m}", call, sub_pairs, "pairs", repeats),
                "run": _scipy_fn(m, sub_rss, sc.min_rss),
                "check": _diff_check(ours_all, n_sub)}
    time_interleaved(jobs, repeats, verbose)
    rows = [job["row"] for job in jobs.values()]
    st = study_job["row"]
    st["info"]["pair_distances"] = n_pairs * len(metrics) * len(reps)
    if st["seconds"]:
        st["info"]["pair_distances_per_second"] = n_pairs * len(metrics) * len(reps) / st["seconds"]
    return {"rows": rows, "study": holder.get("study"), "n_pairs": n_pairs,
            "subset": {"size": n_sub, "pairs": sub_pairs, "seed": [seed, 1]}}


def pairs_table(rows: list[dict], metrics: Sequence[str], scenario_pairs: int,
                n_reps: int) -> list[dict[str, Any]]:
    """Per metric: pairs/s of ours (sampled, all-pairs) and scipy, their ratios, and what the
    scipy route would cost for the study (pdist of every pair of the scenario, extrapolated)."""
    by = {r["method"]: r for r in rows}
    out = []
    for m in metrics:
        s, a = by[f"ours_sampled/{m}"], by[f"ours_allpairs/{m}"]
        p = by.get(f"scipy_pdist/{m}")
        ps = p["per_second"] if p else None
        rec = {"metric": m, "scipy_metric": SCIPY_METRICS[m][0] if m in SCIPY_METRICS else None,
               "ours_sampled_pairs_per_s": s["per_second"],
               "ours_allpairs_pairs_per_s": a["per_second"],
               "scipy_pdist_pairs_per_s": ps,
               "ours_allpairs_over_scipy": (a["per_second"] / ps
                                            if ps and a["per_second"] else None),
               "ours_sampled_over_scipy": (s["per_second"] / ps
                                           if ps and s["per_second"] else None),
               "max_abs_diff_vs_scipy": p["info"].get("max_abs_diff_vs_ours") if p else None,
               "agrees_with_scipy": p["info"].get("agrees_float32") if p else None}
        # the scipy route to the study's sampled pairs: the condensed matrix of the whole
        # scenario (pdist cannot do given pairs), per representation; ours does only the sample
        rec["study_seconds_ours_sampled"] = (s["seconds"] * n_reps if s["seconds"] else None)
        rec["study_seconds_scipy_all_pairs_estimate"] = (scenario_pairs / ps * n_reps
                                                         if ps else None)
        out.append(rec)
    return out


# --------------------------------------------------------------------------------------------
# part 2: kNN querying
# --------------------------------------------------------------------------------------------

def _feature_representation(study: Any, reps: Sequence[str], metric_col: str = "spearman") -> str:
    """The chapter's rule (notebooks/dml.py): each metric's best representation by mean
    correlation, then the most common of those; ``reps[0]`` without a study."""
    if study is None or len(study) == 0:
        return reps[0]
    mean_rep = study.groupby(["metric", "representation"])[metric_col].mean()
    best = mean_rep.groupby("metric").idxmax().map(lambda t: t[1])
    return str(best.mode().iloc[0])


def build_meta(sc: Any, metrics: Sequence[str], feat_rep: str, seed: int) -> dict[str, Any]:
    """A small GP meta-metric on ``GP_PAIRS`` pairs of the scenario (setup: timed once)."""
    t = time.perf_counter()
    i, j = distances.sample_pairs(len(sc), GP_PAIRS, np.random.default_rng([seed, 5]))
    F = distances.pair_features(sc.rss, sc.rss, list(metrics), feat_rep, pairs_i=i, pairs_j=j,
                                min_rss=sc.min_rss)
    y = sc.physical_distance(i, j)
    t_feat = time.perf_counter() - t
    t = time.perf_counter()
    mm = meta.fit_meta_metric(F, y, feature_names=list(metrics), population=GP_POPULATION,
                              generations=GP_GENERATIONS, seed=seed, progress=False)
    return {"meta_metric": mm, "info": {
        "feature_representation": feat_rep, "n_pairs": int(i.size), "population": GP_POPULATION,
        "generations": GP_GENERATIONS, "features_seconds": t_feat,
        "fit_seconds": time.perf_counter() - t, "expression": mm.expression,
        "fitness_train": float(mm.fitness_train)}}


def build_embedding(db: dict[str, np.ndarray], min_rss: float, seed: int) -> dict[str, Any]:
    """A tiny log-ratio embedding trained on the database (setup: timed once; CPU)."""
    X = representations.represent(db["rss"], EMB_REPRESENTATION, min_rss=min_rss)
    P = np.column_stack([db["positions"], db["floor"] * scenarios_mod.FLOOR_HEIGHT[DATASET]])
    t = time.perf_counter()
    model, _ = train.train_embedding(X.astype(np.float32), P, seed=seed, device="cpu",
                                        progress=False, **EMB_KW)
    return {"model": model, "info": {
        "representation": EMB_REPRESENTATION, "train_seconds": time.perf_counter() - t,
        "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in EMB_KW.items()},
        "loss": "log_ratio", "device": "cpu"}}


def part_knn(data: dict[str, Any], metrics: Sequence[str], min_rss: float, mm: Any,
             feat_rep: str, model: Any, repeats: int, verbose: bool) -> list[dict[str, Any]]:
    from sklearn.neighbors import KNeighborsRegressor

    db, q = data["db"], data["q"]
    nq, ndb = len(q["rss"]), len(db["rss"])
    truth = (q["positions"], q["floor"], q["building"])
    fit_args = (db["rss"], db["positions"], db["floor"], db["building"])
    log(verbose, f"part 2: kNN, {nq} queries x {ndb} database fingerprints")

    def report_check(pred: Any) -> dict[str, Any]:
        rep = knn_report(pred, truth)
        return {"mean_error_m": rep["mean_m"], "floor_hit": rep["floor_hit"],
                "building_hit": rep["building_hit"]}

    def predict(knn: KNNPositioner) -> Any:
        return knn.predict(q["rss"])

    jobs: dict[str, dict[str, Any]] = {}
    for m in metrics:
        jobs[f"knn/{m}"] = {
            "row": _row("knn", f"knn/{m}", f"KNNPositioner(k={K}, metric={m!r}, "
                        f"representation={KNN_REPRESENTATION!r})", nq, "queries", repeats),
            "fit": lambda m=m: KNNPositioner(k=K, metric=m, representation=KNN_REPRESENTATION,
                                             min_rss=min_rss, progress=False).fit(*fit_args),
            "run": predict, "check": report_check}
    jobs["knn/meta_metric"] = {
        "row": _row("knn", "knn/meta_metric",
                    f"KNNPositioner(k={K}, distance_fn=meta_distance_fn(mm, {len(metrics)} "
                    f"metrics, {feat_rep!r}))", nq, "queries", repeats),
        "fit": lambda: KNNPositioner(k=K, distance_fn=positioning.meta_distance_fn(
            mm, list(metrics), feat_rep, min_rss=min_rss), min_rss=min_rss,
            progress=False).fit(*fit_args),
        "run": predict, "check": report_check}

    def fit_embedding() -> KNNPositioner:
        fn = train.embedding_distance_fn(model, transform=lambda r: representations.represent(
            r, EMB_REPRESENTATION, min_rss=min_rss).astype(np.float32))
        knn = KNNPositioner(k=K, distance_fn=fn, min_rss=min_rss, progress=False).fit(*fit_args)
        fn(knn.rss_[:1], knn.rss_)  # embed the database once, here (the fn caches it)
        return knn

    jobs["knn/embedding"] = {
        "row": _row("knn", "knn/embedding",
                    f"KNNPositioner(k={K}, distance_fn=embedding_distance_fn(model, "
                    f"transform=represent(., {EMB_REPRESENTATION!r}))); fit embeds the "
                    "database", nq, "queries", repeats),
        "fit": fit_embedding, "run": predict, "check": report_check}

    def raw(a: np.ndarray) -> np.ndarray:
        return representations.represent(a, KNN_REPRESENTATION, min_rss=min_rss)

    def sk_check(pred: np.ndarray) -> dict[str, Any]:
        err = np.linalg.norm(pred - q["positions"], axis=1)
        return {"mean_error_m": float(err.mean()), "floor_hit": None, "building_hit": None}

    jobs["knn/sklearn_brute"] = {
        "row": _row("knn", "knn/sklearn_brute",
                    f"KNeighborsRegressor(n_neighbors={K}, weights='distance', "
                    "algorithm='brute') on raw RSS (missing -> min_rss)", nq, "queries",
                    repeats),
        "fit": lambda: KNeighborsRegressor(n_neighbors=K, weights="distance",
                                           algorithm="brute").fit(raw(db["rss"]),
                                                                  db["positions"]),
        "run": lambda sk: sk.predict(raw(q["rss"])), "check": sk_check}
    time_interleaved(jobs, repeats, verbose, trace=True)
    rows = [job["row"] for job in jobs.values()]
    sk = jobs["knn/sklearn_brute"]["row"]["seconds"]
    for r in rows:
        r["info"]["predict_over_sklearn"] = (r["seconds"] / sk if sk and r["seconds"] else None)
    return rows


def knn_checks(data: dict[str, Any], metrics: Sequence[str], min_rss: float) -> dict[str, Any]:
    """Ours (Euclidean, raw) against scikit-learn brute on the same queries (information).

    Positions can differ only where equidistant database rows tie for the k-th place (UJIIndoorLoc
    repeats scans at each reference point) and the two break the tie differently: then the k
    neighbour *distances* still agree, which is checked beside the positions.
    """
    if "euclidean" not in metrics:
        return {}
    from sklearn.neighbors import KNeighborsRegressor

    db, q = data["db"], data["q"]
    knn = KNNPositioner(k=K, metric="euclidean", min_rss=min_rss, progress=False).fit(
        db["rss"], db["positions"])
    ours = knn.predict(q["rss"]).positions
    d_ours, _ = knn.kneighbors(q["rss"])
    Xq = representations.represent(q["rss"], "raw", min_rss=min_rss)
    sk = KNeighborsRegressor(n_neighbors=K, weights="distance", algorithm="brute").fit(
        representations.represent(db["rss"], "raw", min_rss=min_rss), db["positions"])
    pos_sk = sk.predict(Xq)
    d_sk, _ = sk.kneighbors(Xq)
    same = np.linalg.norm(ours - pos_sk, axis=1) <= 1e-6
    return {"euclidean_vs_sklearn_positions_agree_share": float(same.mean()),
            "euclidean_vs_sklearn_max_position_diff_m": float(np.abs(ours - pos_sk).max()),
            "euclidean_vs_sklearn_max_neighbour_distance_diff": float(np.abs(d_ours - d_sk).max())}


# --------------------------------------------------------------------------------------------
# machine info (benchio.machine, plus torch and gplearn)
# --------------------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    return benchio.machine(torch=True, versions=("gplearn",))


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------

def run(repeats: int = DEFAULT_REPEATS, *, out: str | Path | None = None,
        metrics: Sequence[str] = distances.METRICS,
        reps: Sequence[str] = representations.REPRESENTATIONS,
        max_pairs: int = MAX_PAIRS, subset: int = SUBSET, queries: int | None = None,
        scenario_size: int | None = None, db_size: int | None = None, seed: int = 0,
        verbose: bool = True, quick: bool = False) -> dict[str, Any]:
    """Run the benchmark; return the results dict and, when ``out`` is given, write
    ``dml_speed.json`` and ``dml_speed.csv`` there (atomically: a failed run leaves the last good
    files alone). ``queries``/``db_size``/``scenario_size``: seeded subsamples (None = all)."""
    metrics, reps = list(metrics), list(reps)
    if not metrics or not reps:
        raise ValueError("metrics and reps must not be empty")
    for m in metrics:
        distances.check_metric(m)
    for r in reps:
        distances.check_representation(r)
    if int(repeats) != repeats or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
    for name, v, low in (("max_pairs", max_pairs, 1), ("subset", subset, 2),
                         ("queries", queries, 1), ("scenario_size", scenario_size, 3),
                         ("db_size", db_size, K)):
        if v is not None and (int(v) != v or v < low):
            raise ValueError(f"{name} must be an integer >= {low}, got {v!r}")
    t_start = time.perf_counter()
    load_before = benchio.load_average()

    t = time.perf_counter()
    sc = load_scenario(scenario_size, seed)
    data = load_knn_data(db_size, queries, seed)
    load_seconds = time.perf_counter() - t
    min_rss = float(sc.min_rss)  # the dataset's: min over UJIIndoorLoc training - 1

    p1 = part_study(sc, metrics, reps, max_pairs, subset, repeats, seed, verbose)
    feat_rep = _feature_representation(p1["study"], reps)
    log(verbose, "setup: meta-metric (GP) and embedding")
    meta_setup = build_meta(sc, metrics, feat_rep, seed)
    emb_setup = build_embedding(data["db"], min_rss, seed)
    knn_rows = part_knn(data, metrics, min_rss, meta_setup["meta_metric"], feat_rep,
                        emb_setup["model"], repeats, verbose)

    n_sc = len(sc)
    ndb = len(data["db"]["rss"])
    rows = p1["rows"] + knn_rows
    doc: dict[str, Any] = {
        "schema": SCHEMA, "benchmark": BENCHMARK,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": bool(quick),
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": benchio.load_average(),
        "data": {
            "dataset": DATASET, "load_seconds": load_seconds, "min_rss": min_rss,
            "scenario": {"name": sc.name, "fingerprints": n_sc, "aps": int(sc.rss.shape[1]),
                         "subsampled_to": scenario_size, "all_pairs": n_sc * (n_sc - 1) // 2,
                         "pairs": p1["n_pairs"], "subset": p1["subset"]},
            "knn": {"database": data["db_info"], "queries": data["q_info"]},
        },
        "settings": {
            "repeats": int(repeats), "metrics": metrics, "representations": reps,
            "max_pairs": max_pairs, "rng": seed, "pair_representation": PAIR_REPRESENTATION,
            "scipy_metrics": {m: {"name": n, "kwargs": kw} for m, (n, kw) in
                              SCIPY_METRICS.items() if m in metrics},
            "knn": {"k": K, "weighted": True, "representation": KNN_REPRESENTATION,
                    "min_rss": min_rss},
            "meta_metric": meta_setup["info"], "embedding": emb_setup["info"],
        },
        "memory": memory_info(ndb, len(metrics)),
        "timing": {"method": "one untimed warm-up call per method (for kNN: fit, then predict; "
                             "the kNN warm-ups run under tracemalloc), then best of R "
                             "perf_counter wall times, repeats interleaved within each part; "
                             "kNN seconds are predict only, fit_seconds beside them"},
        "rows": rows,
        "pairs_vs_scipy": pairs_table(p1["rows"], metrics, n_sc * (n_sc - 1) // 2, len(reps)),
        "checks": knn_checks(data, metrics, min_rss),
        "elapsed_seconds": None,
    }
    doc["elapsed_seconds"] = time.perf_counter() - t_start
    if out is not None:
        write(doc, Path(out))
    if verbose:
        print(report(doc))
    return doc


def memory_info(n_db: int, n_metrics: int) -> dict[str, Any]:
    """The memory bound of the package's blockwise kernels, and what it means here."""
    from sklearn import get_config

    mm = distances.MAX_MEMORY
    rows = distances._rows_per_block(n_db, mm)
    rows_meta = max(1, min(4096, mm // (n_db * (8 * 4 + 4 * n_metrics))))
    rows_fn = max(1, min(4096, mm // (8 * 4 * n_db)))
    return {
        "max_memory_bytes": mm,
        "what": "distances.MAX_MEMORY: bytes of temporaries per block of query rows "
                "(pairwise/kNN); pair_features uses a quarter of it per chunk of pairs",
        "knn_rows_per_block": rows,
        "knn_distance_fn_rows_per_block": rows_fn,
        "meta_metric_feature_rows_per_block": rows_meta,
        "pair_features_max_memory_bytes": mm // 4,
        "database_fingerprints": n_db,
        "sklearn_working_memory_mib": get_config().get("working_memory"),
        "peak_traced_note": "peak_traced_bytes: tracemalloc peak of the warm-up predict "
                            "(NumPy and Python allocations; torch's, e.g. Chebyshev's cdist "
                            "and the embedding, are not traced)",
    }


# --------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------




def write(doc: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """``dml_speed.json`` (everything) and ``dml_speed.csv`` (one row per timing)."""
    return benchio.write_results(
        doc, out, BENCHMARK,
        ["section", "method", "n_items", "unit", "repeats", "seconds_best", "seconds_median",
         "warmup_seconds", "per_second", "fit_seconds", "peak_traced_bytes",
         "predict_over_sklearn", "mean_error_m", "skipped"],
        ([r["section"], r["method"], r["n_items"], r["unit"], r["repeats"], _fmt(r["seconds"]),
          _fmt(r["seconds_median"]), _fmt(r["warmup_seconds"]), _fmt(r["per_second"]),
          _fmt(r["fit_seconds"]),
          "" if r["peak_traced_bytes"] is None else r["peak_traced_bytes"],
          _fmt(r["info"].get("predict_over_sklearn")), _fmt(r["info"].get("mean_error_m")),
          r["skipped"] or ""] for r in doc["rows"]))


def _rate(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x / 1e6:.2f} M" if x >= 1e6 else f"{x / 1e3:.1f} k" if x >= 1e3 else f"{x:.0f}"


def _cell(x: float | None, spec: str, width: int, suffix: str = "") -> str:
    return f"{'n/a' if x is None else format(x, spec) + suffix:>{width}}"


def report(doc: dict[str, Any]) -> str:
    """The readable tables printed at the end of a run."""
    mc, st, d = doc["machine"], doc["settings"], doc["data"]
    sc, sub, kn = d["scenario"], d["scenario"]["subset"], d["knn"]
    by = {r["method"]: r for r in doc["rows"]}
    nm, nr = len(st["metrics"]), len(st["representations"])
    lines = [
        f"dml_speed: best of R = {st['repeats']}" + ("  [QUICK]" if doc["quick"] else ""),
        (f"machine: {mc['cpu_model']}, {mc['cores']} cores; BLAS/OpenMP pools "
         f"{[p['num_threads'] for p in mc['threads']['threadpoolctl_pools']]}, torch threads "
         f"{mc['threads']['torch']}; numpy {mc['versions']['numpy']}, scipy "
         f"{mc['versions']['scipy']}, sklearn {mc['versions']['sklearn']}, torch "
         f"{mc['versions']['torch']}; load avg before {doc['load_average_before']}"),
        "",
        (f"(1) correlation study, {sc['name']} ({sc['fingerprints']:,} fingerprints x "
         f"{sc['aps']} APs): {sc['pairs']:,} pairs x {nm} metrics x {nr} representations"),
    ]
    s = by["correlation_study"]
    if s["seconds"] is None:
        lines.append(f"    skipped: {s['skipped']}")
    else:
        lines.append(f"    {s['seconds']:.3f} s (median {s['seconds_median']:.3f} s): "
                     f"{_rate(s['per_second'])} pairs/s through all {nm * nr} (metric, "
                     f"representation) columns = "
                     f"{_rate(s['info'].get('pair_distances_per_second'))} pair-distances/s")
    lines += [
        "",
        (f"    pairs/s per metric ({st['pair_representation']} representation): ours on the "
         f"study's {sc['pairs']:,} sampled pairs (pair_features); ours (pairwise) and scipy "
         f"pdist on all {sub['pairs']:,} pairs of a {sub['size']:,}-fingerprint subset"),
        (f"    {'metric':<12}{'scipy':>11}{'ours sampled':>14}{'ours all':>11}"
         f"{'scipy pdist':>13}{'all/scipy':>11}{'max|diff|':>11}{'study s ours':>14}"
         f"{'scipy est.':>12}"),
    ]
    for p in doc["pairs_vs_scipy"]:
        lines.append(
            f"    {p['metric']:<12}{p['scipy_metric'] or '-':>11}"
            f"{_rate(p['ours_sampled_pairs_per_s']):>14}"
            f"{_rate(p['ours_allpairs_pairs_per_s']):>11}"
            f"{_rate(p['scipy_pdist_pairs_per_s']):>13}"
            + _cell(p["ours_allpairs_over_scipy"], ".2f", 11, "x")
            + _cell(p["max_abs_diff_vs_scipy"], ".1e", 11)
            + _cell(p["study_seconds_ours_sampled"], ".3f", 14)
            + _cell(p["study_seconds_scipy_all_pairs_estimate"], ".3f", 12))
    lines += [
        ("    (all/scipy > 1: ours faster on the same pairs. study s: seconds for this metric "
         f"over the {nr} representations: ours on the sampled pairs; scipy est.: pdist of all "
         f"{sc['all_pairs']:,} pairs of the scenario, which the sample needs with pdist, "
         "extrapolated at its measured pairs/s)"),
        "",
        (f"(2) kNN, k = {st['knn']['k']}, 1/distance weights: {kn['queries']['used']:,} "
         f"validation queries x {kn['database']['used']:,} training fingerprints "
         f"(dropped empty: {kn['queries']['dropped_empty']} queries, "
         f"{kn['database']['dropped_empty']} database)"),
        (f"    {'method':<22}{'fit s':>8}{'predict s':>11}{'median s':>10}{'queries/s':>11}"
         f"{'x sklearn':>11}{'peak MiB':>10}{'mean err m':>12}"),
    ]
    for r in doc["rows"]:
        if r["section"] != "knn":
            continue
        name = r["method"].split("/", 1)[1]
        if r["seconds"] is None:
            lines.append(f"    {name:<22}skipped: {r['skipped']}")
            continue
        pk = r["peak_traced_bytes"]
        lines.append(
            f"    {name:<22}" + _cell(r["fit_seconds"], ".3f", 8)
            + _cell(r["seconds"], ".4f", 11) + _cell(r["seconds_median"], ".4f", 10)
            + _cell(r["per_second"], ".0f", 11)
            + _cell(r["info"].get("predict_over_sklearn"), ".1f", 11)
            + _cell(None if pk is None else pk / 2**20, ".0f", 10)
            + _cell(r["info"].get("mean_error_m"), ".2f", 12))
    mem, mt, em = doc["memory"], st["meta_metric"], st["embedding"]
    lines += [
        (f"    memory bound: distances.MAX_MEMORY = {mem['max_memory_bytes'] / 2**20:.0f} MiB "
         f"of temporaries per block -> {mem['knn_rows_per_block']} query rows per block against "
         f"{mem['database_fingerprints']:,} database fingerprints "
         f"({mem['meta_metric_feature_rows_per_block']} for the meta-metric's features); "
         f"scikit-learn working_memory {mem['sklearn_working_memory_mib']} MiB"),
        ("    (peak MiB: tracemalloc peak of the warm-up predict, torch's allocations not "
         "traced; x sklearn: predict seconds / scikit-learn's; mean err: information)"),
        (f"    meta-metric: GP {mt['population']} x {mt['generations']} on {mt['n_pairs']:,} "
         f"pairs ({mt['feature_representation']}), {mt['fit_seconds']:.2f} s: "
         f"{mt['expression']}"),
        (f"    embedding: MLP {em['settings']['hidden']} -> {em['settings']['out_dim']}, "
         f"{em['settings']['steps_per_epoch']} steps ({em['representation']}), "
         f"{em['train_seconds']:.2f} s to train; its fit includes embedding the database"),
    ]
    c = doc["checks"]
    if c:
        lines.append("    check: Euclidean kNN vs scikit-learn, same positions for "
                     f"{c['euclidean_vs_sklearn_positions_agree_share']:.1%} of queries "
                     f"(max diff {c['euclidean_vs_sklearn_max_position_diff_m']:.2g} m); "
                     "k neighbour distances differ by at most "
                     f"{c['euclidean_vs_sklearn_max_neighbour_distance_diff']:.2g} (ties)")
    lines.append(f"\nelapsed {doc['elapsed_seconds']:.0f} s")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=None,
                   help=f"timed repeats, best kept (default {DEFAULT_REPEATS})")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder (default {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true",
                   help=f"a fast look: {QUICK} (explicit options win)")
    p.add_argument("--max-pairs", type=int, default=None,
                   help=f"pairs of the study (default {MAX_PAIRS})")
    p.add_argument("--subset", type=int, default=None,
                   help=f"fingerprints of the all-pairs comparison with scipy (default {SUBSET})")
    p.add_argument("--queries", type=int, default=None,
                   help="validation queries (default all)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)

    def pick(value: Any, key: str, default: Any) -> Any:
        return value if value is not None else (QUICK[key] if a.quick else default)

    run(repeats=pick(a.repeats, "repeats", DEFAULT_REPEATS), out=a.out,
        max_pairs=pick(a.max_pairs, "max_pairs", MAX_PAIRS),
        subset=pick(a.subset, "subset", SUBSET), queries=pick(a.queries, "queries", None),
        seed=a.seed, quick=a.quick)
    print(f"\nwrote {a.out / (BENCHMARK + '.json')} and {a.out / (BENCHMARK + '.csv')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
