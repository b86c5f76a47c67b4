"""The performance page: benchmark results and the chapters' wall times, rendered for the book.

``ipsbook build`` calls :func:`write_performance_page`, which reads what ``make bench`` wrote
(``benchmarks/results/<benchmark>.json``, with a CSV beside it) and every ``run.json`` of the
built profile, and writes ``book/performance.md`` plus its figures and data copies under
``book/_generated/performance/``. Per benchmark: the machine and library versions the JSON
records, a table, a plot of speed-ups against the peers the benchmark times, a log-log growth
plot with the fitted exponents where the benchmark sweeps a size, and its targets. Without
results (a fresh clone, CI) the page says so and how to produce them.

Every number comes from those files; the page is the same each time it is built from them.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .markdown import escape, table

ASSETS = Path("_generated") / "performance"  # relative to the page's folder (book/)


class PerformanceError(ValueError):
    """A result file that cannot be read (the message names it and what to do)."""


# --------------------------------------------------------------------------- what a page shows


@dataclass
class Speedups:
    """``t(peer) / t(ipsbook)`` per peer: above 1, ipsbook is faster."""

    title: str
    bars: list[tuple[str, float]] = field(default_factory=list)  # (label, speed-up)
    lines: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)  # vs size
    size_label: str = ""


@dataclass
class Growth:
    """Time against a swept size, per method, with ``seconds = a * size ** k`` fitted."""

    size_label: str
    series: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    fits: dict[str, tuple[float, float]] = field(default_factory=dict)  # method -> (k, a)


@dataclass
class View:
    """One benchmark as the page shows it."""

    name: str
    title: str
    summary: str
    tables: list[tuple[str, list[str]]] = field(default_factory=list)  # (caption, md lines)
    speedups: list[Speedups] = field(default_factory=list)
    growth: Growth | None = None
    targets: list[tuple[str, str, str, str]] = field(default_factory=list)


def _num(x: Any, digits: int = 3) -> str:
    """A number for a table: counts with thousands separators, others to ``digits`` figures."""
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if not math.isfinite(x):
            return str(x)
        if abs(x) >= 10 ** digits:
            return f"{x:,.0f}"
        return f"{x:.{digits}g}"
    return str(x)


def _fit(sizes: Sequence[float], seconds: Sequence[float]) -> tuple[float, float] | None:
    """Least-squares ``(k, a)`` of ``log s = log a + k log n`` (None with fewer than 2 points)."""
    import numpy as np

    pts = [(n, s) for n, s in zip(sizes, seconds, strict=True) if n > 0 and s and s > 0]
    if len(pts) < 2:
        return None
    x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    k, log_a = np.polyfit(x, y, 1)
    return float(k), float(np.exp(log_a))


def _targets(targets: Mapping[str, Any] | None) -> list[tuple[str, str, str, str]]:
    rows = []
    for key, t in (targets or {}).items():
        if not isinstance(t, Mapping):
            continue
        if "met" not in t:  # a group, e.g. bfp_search's "informational"
            rows += [(f"{key}: {k}", *rest) for k, *rest in _targets(t)]
            continue
        measured = t.get("measured", t.get("seconds"))
        unjudged = f"not judged ({t.get('reason') or 'no value'})"
        met = {True: "met", False: "**missed**"}.get(t.get("met"), unjudged)
        rows.append((key, str(t.get("required", "—")), _num(measured), met))
    return rows


def _target_rows(targets: Mapping[str, Any] | None) -> list[tuple[str, str, str, str]]:
    return [(f"`{k}`", escape(req), m, v) for k, req, m, v in _targets(targets)]


# --------------------------------------------------------------------------- the three benchmarks


def _bfp_search(d: Mapping[str, Any]) -> View:
    s = d.get("sizes", {})
    methods: dict[str, Any] = d.get("methods", {})
    rows = []
    for key, m in methods.items():
        if m.get("seconds") is None:
            rows.append((f"`{key}`", escape(m.get("label", "")), m.get("kind", ""), "skipped: "
                         + str(m.get("skipped", "")), "", "", "", ""))
            continue
        peak = m.get("peak_traced_bytes")
        rows.append((f"`{key}`", escape(m.get("label", "")), m.get("kind", ""),
                     _num(m["seconds"]), _num(m.get("seconds_median")),
                     _num(m.get("queries_per_s")), _num(m.get("ns_per_distance")),
                     _num(peak / 2**20) if peak else "—"))
    view = View(
        "bfp_search", "Binary-fingerprint search (paper D, `ipsbook.methods.hamming`)",
        f"1-NN search over {_num(s.get('cells'))} cells × {s.get('beacons')} beacons for "
        f"{_num(s.get('queries'))} queries, best of {s.get('repeats')} interleaved repeats.",
    )
    view.tables.append(("Search, per method", table(
        ("method", "what", "kind", "best [s]", "median [s]", "queries/s", "ns per distance",
         "peak traced [MiB]"), rows, "lllrrrrr")))
    ours = methods.get("packed_nearest", {}).get("seconds")
    if ours:
        sp = Speedups("t(peer) / t(ipsbook packed_nearest)")
        sp.bars = [(k, m["seconds"] / ours) for k, m in methods.items()
                   if k != "packed_nearest" and m.get("seconds")]
        view.speedups.append(sp)
    mem = d.get("memory", {})
    if mem:
        view.tables.append(("Map size", table(
            ("float32 map [bytes]", "packed map [bytes]", "float / packed [ratio]"),
            [(_num(mem.get("float32_map_bytes")), _num(mem.get("packed_map_bytes")),
              _num(mem.get("float_over_packed")))], "rrr")))
    g = d.get("growth") or {}
    if g.get("rows"):
        growth = Growth(f"cells [count] ({_num(g.get('queries'))} queries)")
        for r in g["rows"]:
            if r.get("seconds"):
                xs, ys = growth.series.setdefault(r["method"], ([], []))
                xs.append(r["cells"])
                ys.append(r["seconds"])
        for method, fit in (g.get("loglog_fit") or {}).items():
            if fit.get("exponent") is not None and fit.get("prefactor_s") is not None:
                growth.fits[method] = (fit["exponent"], fit["prefactor_s"])
        view.growth = growth
    view.targets = _target_rows(d.get("targets"))
    return view


def _edm_scaling(d: Mapping[str, Any]) -> View:
    rows = [r for r in d.get("rows", []) if r.get("seconds") is not None]
    sizes = sorted({r["n_aps"] for r in d.get("rows", [])})
    labels = {k: m.get("label", k) for k, m in (d.get("methods") or {}).items()}
    order = list(labels) or sorted({r["method"] for r in rows})
    secs = {(r["method"], r["n_aps"]): r["seconds"] for r in rows}
    skipped = {(r["method"], r["n_aps"]) for r in d.get("rows", []) if r.get("skipped")}
    growth_fits = d.get("growth") or {}
    view = View(
        "edm_scaling", "EDM resolvers as the network grows (paper B, `ipsbook.methods.edm`)",
        f"Time to resolve one simulated network of {', '.join(map(str, sizes))} access points "
        "(best of R; see `settings.by_size` in the JSON for R and each method's settings).",
    )
    body = []
    for m in order:
        cells = [("skipped" if (m, n) in skipped else _num(secs.get((m, n)))) for n in sizes]
        k = (growth_fits.get(m) or {}).get("exponent")
        body.append((f"`{m}`", escape(labels.get(m, m)), *cells, _num(k)))
    view.tables.append(("Best time [s] per network size (APs), and the fitted exponent k", table(
        ("method", "what", *(f"{n} APs" for n in sizes), "k"), body,
        "ll" + "r" * (len(sizes) + 1))))
    sp = Speedups("t(peer) / t(ipsbook)", size_label="access points [count]")
    for peer, ours in (("mds", "wr_iag"), ("smacof_sklearn", "wr_iag"),
                       ("smacof_sklearn", "smacof_weighted")):
        pts = [(n, secs[(peer, n)] / secs[(ours, n)]) for n in sizes
               if (peer, n) in secs and (ours, n) in secs]
        if pts:
            sp.lines[f"{peer} / {ours}"] = ([p[0] for p in pts], [p[1] for p in pts])
    if sp.lines:
        view.speedups.append(sp)
    growth = Growth("access points [count]")
    for m in order:
        pts = [(n, secs[(m, n)]) for n in sizes if (m, n) in secs]
        if pts:
            growth.series[m] = ([p[0] for p in pts], [p[1] for p in pts])
        fit = growth_fits.get(m) or {}
        if fit.get("exponent") is not None and fit.get("prefactor_s") is not None:
            growth.fits[m] = (fit["exponent"], fit["prefactor_s"])
    view.growth = growth if growth.series else None
    view.targets = _target_rows(d.get("targets"))
    return view


def _dml_speed(d: Mapping[str, Any]) -> View:
    rows = d.get("rows", [])
    scenario = (d.get("data") or {}).get("scenario") or {}
    view = View(
        "dml_speed", "Distances, correlation study and kNN (paper A, `ipsbook.methods.dml`)",
        f"Study 1 on {scenario.get('name', 'one scenario')} ({_num(scenario.get('pairs'))} "
        "pairs), all-pairs distances against scipy's `pdist`, and kNN with every distance "
        "against scikit-learn.",
    )
    study = [r for r in rows if r.get("section") == "study" and r.get("seconds")]
    if study:
        view.tables.append(("Correlation study", table(
            ("what", "best [s]", "median [s]", "items/s"),
            [(escape(r.get("what", r["method"])), _num(r["seconds"]),
              _num(r.get("seconds_median")), f"{_num(r.get('per_second'))} {r.get('unit', '')}")
             for r in study], "lrrr")))
    pairs = d.get("pairs_vs_scipy") or []
    if pairs:
        view.tables.append(("Pairwise distances: pairs per second, ours vs scipy", table(
            ("metric", "ours, all pairs", "ours, sampled pairs", "scipy pdist",
             "ours / scipy [ratio]", "agrees with scipy"),
            [(f"`{p['metric']}`", _num(p.get("ours_allpairs_pairs_per_s")),
              _num(p.get("ours_sampled_pairs_per_s")), _num(p.get("scipy_pdist_pairs_per_s")),
              _num(p.get("ours_allpairs_over_scipy")), _num(p.get("agrees_with_scipy")))
             for p in pairs], "lrrrrl")))
        sp = Speedups("pairwise distances, all pairs: t(scipy pdist) / t(ipsbook)")
        sp.bars = [(p["metric"], p["ours_allpairs_over_scipy"]) for p in pairs
                   if p.get("ours_allpairs_over_scipy")]
        view.speedups.append(sp)
    knn = [r for r in rows if r.get("section") == "knn" and r.get("seconds")]
    if knn:
        view.tables.append(("kNN (k = 3) per distance: predict and fit time", table(
            ("method", "queries", "predict best [s]", "fit [s]", "mean error [m]",
             "t / t(sklearn) [ratio]"),
            [(f"`{r['method']}`", _num(r.get("n_items")), _num(r["seconds"]),
              _num(r.get("fit_seconds")), _num((r.get("info") or {}).get("mean_error_m")),
              _num((r.get("info") or {}).get("predict_over_sklearn"))) for r in knn],
            "lrrrrr")))
        sp = Speedups("kNN predict: t(scikit-learn brute) / t(ipsbook)")
        sp.bars = [(r["method"].removeprefix("knn/"), 1 / r["info"]["predict_over_sklearn"])
                   for r in knn if r["method"] != "knn/sklearn_brute"
                   and (r.get("info") or {}).get("predict_over_sklearn")]
        view.speedups.append(sp)
    view.targets = _target_rows(d.get("targets"))
    return view


def _mtloc_training(d: Mapping[str, Any]) -> View:
    rows = [r for r in d.get("rows", []) if r.get("seconds")]
    view = View(
        "mtloc_training", "MTLoc training throughput (paper E, `ipsbook.methods.mtloc`)",
        "One epoch of `fit` (forward, backward, RMSprop step; no validation) per timing, best of "
        "R interleaved repeats, on one site's training samples; prediction, the Wi-Fi kNN "
        "baseline and data preparation beside it.",
    )
    train = [r for r in rows if r.get("section") == "train"]
    models = list(dict.fromkeys(r["model"] for r in train))
    configs = sorted({(r["batch_size"], r["threads"]) for r in train})
    rate = {(r["model"], r["batch_size"], r["threads"]): r.get("per_second") for r in train}
    if train:
        view.tables.append(("Training samples per second, by batch size (b) and torch threads (t)",
                            table(("model", *(f"b{b}, t{t}" for b, t in configs)),
                                  [(f"`{m}`", *(_num(rate.get((m, b, t))) for b, t in configs))
                                   for m in models], "l" + "r" * len(configs))))
        ref = rate.get((models[0], *configs[0]))
        if ref:
            sp = Speedups(f"samples/s relative to {models[0]} at b{configs[0][0]}, "
                          f"t{configs[0][1]}")
            sp.bars = [(f"{m} b{b} t{t}", v / ref) for (m, b, t), v in rate.items() if v]
            view.speedups.append(sp)
    other = [r for r in rows if r.get("section") in ("predict", "baseline", "data")]
    if other:
        view.tables.append(("Prediction, baseline and data preparation", table(
            ("what", "items", "best [s]", "items/s"),
            [(escape(r.get("what", r["method"])), f"{_num(r.get('n_items'))} {r.get('unit', '')}",
              _num(r["seconds"]), _num(r.get("per_second"))) for r in other], "lrrr")))
    g = d.get("growth") or {}
    grow = [r for r in rows if r.get("section") == "growth"]
    if grow:
        growth = Growth("training samples [count] (one epoch)")
        growth.series[str(g.get("model", "mtloc"))] = ([r["n_items"] for r in grow],
                                                       [r["seconds"] for r in grow])
        if g.get("exponent") is not None and g.get("prefactor_s") is not None:
            growth.fits[str(g.get("model", "mtloc"))] = (g["exponent"], g["prefactor_s"])
        view.growth = growth
    est = d.get("paper_profile_estimate") or {}
    if est.get("paper_profile_estimate_hours") is not None:
        view.tables.append(("Estimated training time of the `paper` profile on this machine",
                            table(("hours", "how"), [(_num(est["paper_profile_estimate_hours"]),
                                                      escape(est.get("formula", "")))], "rl")))
    view.targets = _target_rows(d.get("targets"))
    return view


def _mst_training(d: Mapping[str, Any]) -> View:
    st = d.get("settings") or {}
    rows = d.get("rows", [])
    cols = [f"t{t}" for t in st.get("threads") or []]
    if "cuda" in (st.get("devices") or []):
        cols.append("cuda")

    def col(r: Mapping[str, Any]) -> str:
        return "cuda" if r.get("device") == "cuda" else f"t{r.get('threads')}"

    sizes = st.get("sizes") or {}
    note = str((d.get("cuda") or {}).get("note") or "")
    cuda = f" {note[:1].upper()}{note[1:]}." if note else ""
    view = View(
        "mst_training", "Multi-surrogate teachers: training speed (paper C, `ipsbook.methods.mst`)",
        "Milliseconds per training fingerprint per epoch of each network in each phase of the "
        "chapter (stand-alone training, teacher training, Expert Distilling with two teachers, "
        "evaluation), timed through the package's own functions on seeded subsets of UJI, "
        "Tampere and UJI-LIB (" + ", ".join(f"{k} {_num(v)}" for k, v in sizes.items())
        + " fingerprints): the second epoch of a two-epoch call, best of "
        f"{st.get('repeats', 'R')} interleaved repeats, next to the stored "
        "`experiment.EPOCH_MS` that `experiment.estimate` uses; then the `quick` and `paper` "
        "profiles' cost estimated from the measured 1-thread table." + cuda,
    )
    by = {(r.get("phase"), r.get("model"), r.get("dataset"), col(r)): r for r in rows}
    cells = list(dict.fromkeys((r.get("phase"), r.get("model"), r.get("dataset")) for r in rows))
    body = []
    for p, m, ds in cells:
        got = {c: by.get((p, m, ds, c)) or {} for c in cols}
        t1 = got.get("t1") or next(iter(got.values()), {})
        body.append((p, f"`{m}`", escape(str(ds)), _num(t1.get("n_items")),
                     *(_num(got[c].get("ms_per_fingerprint")) if got[c].get("skipped") is None
                       else "skipped" for c in cols),
                     _num(t1.get("stored_ms")), _num(t1.get("ratio_to_stored")),
                     *(_num(got[c].get("per_second")) for c in cols)))
    if body:
        view.tables.append((
            ("Milliseconds per fingerprint per epoch by torch threads (t) or on CUDA, the stored "
            "`EPOCH_MS`, their ratio (measured at 1 thread / stored), and samples per second"),
            table(("phase", "model", "dataset", "fingerprints", *(f"{c} [ms]" for c in cols),
                   "EPOCH_MS [ms]", "ratio", *(f"{c} [samples/s]" for c in cols)), body,
                  "lllr" + "r" * (2 * len(cols) + 2))))
    rs = d.get("ratio_summary") or {}
    if rs.get("cells"):
        view.tables.append(("Measured / stored ms per fingerprint (1 thread)", table(
            ("cells", "median", "min", "max",
             *(f"median, {k}" for k in (rs.get("by_phase") or {}))),
            [(_num(rs["cells"]), _num(rs.get("median")), _num(rs.get("min")), _num(rs.get("max")),
              *(_num(v) for v in (rs.get("by_phase") or {}).values()))],
            "r" * (4 + len(rs.get("by_phase") or {})))))
    est = d.get("estimates") or {}
    if est:
        erows = []
        for name, e in est.items():
            gpu = e.get("gpu") or {}
            erows.append((f"`{name}`", _num(e.get("runs")), _num(e.get("cpu_hours")),
                          _num(e.get("wall_minutes")), _num(e.get("wall_hours")),
                          _num(e.get("stored_cpu_hours")),
                          _num(e.get("measured_over_stored")), _num(gpu.get("hours")),
                          ", ".join(f"`{c}`" for c in e.get("cells_from_stored_epoch_ms") or [])
                          or "none"))
        workers = next(iter(est.values())).get("workers")
        view.tables.append((
            ("The profiles' cost, `experiment.estimate` with the measured 1-thread table (CPU-hours "
            f"with one thread per run; wall time on {workers} workers) and with the stored "
            "`EPOCH_MS`; on one GPU from the measured CUDA table"), table(
                ("profile", "runs", "CPU-hours", f"wall on {workers} workers [min]",
                 f"wall on {workers} workers [h]", "CPU-hours (EPOCH_MS)", "measured / stored",
                 "one GPU [h]", "cells not timed here (stored `EPOCH_MS` used)"), erows,
                "lrrrrrrrl")))
    fl = d.get("flops") or {}
    if fl.get("by_model"):
        sg = fl.get("sgemm") or {}
        frows = [(f"`{m}`", escape(str(ds)), _num(r.get("flops_per_sample", 0) / 1e6),
                  _num(r.get("achieved_gflop_per_s")),
                  _num(None if r.get("fraction_of_sgemm") is None
                       else 100 * r["fraction_of_sgemm"]))
                 for m, by_ds in fl["by_model"].items() for ds, r in by_ds.items()]
        view.tables.append((
            ("FLOPs of one stand-alone training fingerprint (forward + backward, "
             "`torch.utils.flop_counter`) and the rate the 1-thread epoch achieved, as a share of "
             f"this machine's 1-thread sgemm ({_num(sg.get('gflop_per_s'))} GFLOP/s, "
             "`torch.mm` of float32 matrices)"),
            table(("model", "dataset", "MFLOP", "achieved [GFLOP/s]", "of sgemm [%]"), frows,
                  "llrrr")))
    pr = d.get("precision") or {}
    if pr.get("by_model"):
        def within(c: Mapping[str, Any]) -> str:
            return "—" if "within_tolerance" not in c else (
                "yes" if c["within_tolerance"] else "no")
        prows = [(f"`{m}`", escape(str(ds)), _num(c.get("fp32_ms")), _num(c.get("bf16_ms")),
                  _num(c.get("speedup")), _num(c.get("bf16_vs_fp32_m")),
                  _num(c.get("seed_vs_seed_m")), within(c),
                  *(_num((c.get("test_mae_m") or {}).get(k))
                    for k in ("fp32_seed0", "fp32_seed1", "bf16_seed0")))
                 for m, by_ds in pr["by_model"].items() for ds, c in by_ds.items()]
        view.tables.append((
            ("bf16 autocast against float32 (" + escape(str(pr.get("method", ""))) + "): a "
             "stand-alone epoch at 1 thread [ms per fingerprint], and a loss-curve check of "
             f"{pr.get('epochs')} epochs on the timed subsets (training J_MAE per epoch [m], "
             "mean absolute difference of two curves; then each model's mean test error [m], "
             "evaluated in float32). "
             f"Tolerance: {escape(str(pr.get('tolerance', '')))}. Paper C's profiles train "
             "BayesCNN under bf16 autocast (`Settings.cpu_bf16`), the other networks in float32"),
            table(("model", "dataset", "fp32 [ms]", "bf16 [ms]", "speed-up",
                   "bf16 vs fp32 [m]", "seed 1 vs seed 0 [m]", "within tolerance",
                   "test fp32 s0 [m]", "test fp32 s1 [m]", "test bf16 s0 [m]"), prows,
                  "llrrrrrlrrr")))
    view.targets = _target_rows(d.get("targets"))
    return view


def _generic(d: Mapping[str, Any]) -> View:
    name = str(d.get("benchmark", "?"))
    view = View(name, f"`{name}`", "No renderer knows this benchmark yet: its timed rows as "
                "stored (`ipsbook.book.performance.VIEWS` maps a benchmark to its renderer).")
    rows = [r for r in d.get("rows", []) if isinstance(r, Mapping)]
    if rows:
        plain = [k for k, v in rows[0].items() if not isinstance(v, (Mapping, list))]
        first = [k for k in ("method", "n_items", "unit", "seconds", "per_second") if k in plain]
        cols = (first + [k for k in plain if k not in first])[:8]
        view.tables.append(("Rows", table(cols, [[_num(r.get(c)) for c in cols] for r in rows])))
    view.targets = _target_rows(d.get("targets"))
    return view


VIEWS: dict[str, Callable[[Mapping[str, Any]], View]] = {
    "bfp_search": _bfp_search,
    "edm_scaling": _edm_scaling,
    "dml_speed": _dml_speed,
    "mtloc_training": _mtloc_training,
    "mst_training": _mst_training,
}


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class Result:
    """One benchmark's result file (and its CSV, when there is one)."""

    path: Path
    data: dict[str, Any]
    csv: Path | None

    @property
    def name(self) -> str:
        return str(self.data.get("benchmark") or self.path.stem)


def load_results(results_dir: str | Path) -> list[Result]:
    """Every ``*.json`` in ``results_dir`` (sorted by name); none when the folder is absent."""
    results = []
    for path in sorted(Path(results_dir).glob("*.json")):
        if path.name == "MANIFEST.json":  # a frozen bundle's checksums, not a benchmark
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PerformanceError(
                f"{path} is not valid JSON ({exc}); run `make bench` again or delete the file"
            ) from None
        if not isinstance(data, dict):
            raise PerformanceError(f"{path} holds no benchmark record (a JSON object expected)")
        csv = path.with_suffix(".csv")
        results.append(Result(path, data, csv if csv.is_file() else None))
    return results


def load_wall_times(runs_root: str | Path, profile: str) -> list[dict[str, Any]]:
    """``run.json`` of every chapter run under ``<runs_root>/<profile>/`` (sorted by name)."""
    records = []
    for path in sorted(Path(runs_root, profile).glob("*/run.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise PerformanceError(
                f"{path} is not valid JSON ({exc}); re-run its notebook") from None
        records.append({"name": record.get("name") or path.parent.name, **record})
    return records


# --------------------------------------------------------------------------- figures


def _figure(draw: Callable[[Any], None], *, height: float = 3.6) -> bytes:
    """Draw on a fresh styled figure; PNG bytes without a timestamp (same input, same bytes)."""
    import matplotlib as mpl
    from matplotlib.figure import Figure

    from ..plotting import use_style

    with mpl.rc_context():
        use_style()
        fig = Figure(figsize=(7.0, height), layout="constrained")
        draw(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return buf.getvalue()


def speedup_png(sp: Speedups) -> bytes:
    """Bars (one per peer) or lines (against size) of ``t(peer) / t(ipsbook)``, log scale."""
    from ..plotting import PALETTE, labelled

    def draw(fig) -> None:
        ax = fig.add_subplot()
        if sp.bars:
            labels = [b[0] for b in sp.bars]
            values = [b[1] for b in sp.bars]
            colors = [PALETTE[0] if v >= 1 else PALETTE[3] for v in values]
            ax.barh(range(len(values)), values, color=colors)
            ax.set_yticks(range(len(values)), labels)
            ax.invert_yaxis()
            ax.set_xscale("log")
            ax.axvline(1.0, color="black", linewidth=0.8)
            for i, v in enumerate(values):
                ax.annotate(f"{v:.3g}×", (v, i), xytext=(3, 0), textcoords="offset points",
                            va="center", fontsize=8)
            labelled(ax, "speed-up t(peer) / t(ipsbook) [×, log]", "peer [–]", sp.title)
        else:
            for label, (xs, ys) in sp.lines.items():
                ax.plot(xs, ys, marker="o", label=label)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.axhline(1.0, color="black", linewidth=0.8)
            ax.legend(fontsize=8)
            labelled(ax, sp.size_label, "speed-up t(peer) / t(ipsbook) [×, log]", sp.title)

    return _figure(draw, height=max(2.4, 0.32 * len(sp.bars) + 1.2) if sp.bars else 3.6)


def growth_png(g: Growth) -> bytes:
    """Time against size, log-log, with each method's fitted ``a * n ** k`` dashed."""
    from ..plotting import PALETTE, labelled

    def draw(fig) -> None:
        ax = fig.add_subplot()
        for i, (method, (xs, ys)) in enumerate(g.series.items()):
            color = PALETTE[i % len(PALETTE)]
            fit = g.fits.get(method) or _fit(xs, ys)
            label = f"{method} (k = {fit[0]:.2f})" if fit else method
            ax.plot(xs, ys, marker="o", linestyle="none", color=color, label=label)
            if fit:
                lo, hi = min(xs), max(xs)
                grid = [lo * (hi / lo) ** (j / 20) for j in range(21)] if hi > lo else [lo]
                ax.plot(grid, [fit[1] * n ** fit[0] for n in grid], linestyle="--",
                        color=color, linewidth=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
        labelled(ax, g.size_label, "best time [s]", "cost vs size; dashed: s = a·nᵏ fitted")

    return _figure(draw, height=4.0)


# --------------------------------------------------------------------------- the page


def _machine_lines(d: Mapping[str, Any]) -> list[str]:
    m = d.get("machine") or {}
    threads = m.get("threads") or {}
    pools = [f"{k} {v}" for k, v in threads.items() if isinstance(v, (int, str))]
    rows = [
        ("CPU", (f"{m.get('cpu_model', '?')} (LLVM host CPU {m.get('llvm_host_cpu', '?')}, "
                f"{_num(m.get('cpu_mhz_reported'))} MHz reported)")),
        ("cores", f"{m.get('cores', '?')} usable of {m.get('os_cpu_count', '?')}"),
        ("memory", f"{_num(m['memory_bytes'] / 2**30)} GiB" if m.get("memory_bytes") else "?"),
        ("platform", m.get("platform", "?")),
        ("threads", ", ".join(pools) + ("; every pool uses every core"
                                         if m.get("all_pools_use_all_cores") else "")),
        ("libraries", ", ".join(f"{k} {v}" for k, v in (m.get("versions") or {}).items())),
        ("CPU flags", ", ".join(m.get("cpu_flags") or [])),
        ("run", (f"{d.get('created', '?')}, {'--quick' if d.get('quick') else 'full size'}, "
                f"{_num(d.get('elapsed_seconds'))} s in all; load average before "
                f"{', '.join(_num(x) for x in d.get('load_average_before') or [])}")),
    ]
    return table(("machine", "as recorded in the JSON"), [(k, escape(str(v))) for k, v in rows])


def _write_if_changed(path: Path, data: bytes, written: set[Path]) -> None:
    written.add(path.resolve())
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _benchmark_section(res: Result, assets: Path, written: set[Path],
                       frozen: bool = False) -> list[str]:
    view = VIEWS.get(res.name, _generic)(res.data)
    tag, prefix = ("-ref", "reference_") if frozen else ("", "")
    heading = f"## {view.title}" + (" (reference machine)" if frozen else "")
    lines = [f"({res.name}-bench{tag})=", heading, "", view.summary, ""]
    files = []
    for src in (res.path, res.csv):
        if src is not None:
            _write_if_changed(assets / (prefix + src.name), src.read_bytes(), written)
            files.append(f"{{download}}`{src.name} <{(ASSETS / (prefix + src.name)).as_posix()}>`")
    origin = "the frozen `results/bench/`" if frozen else "`benchmarks/results/`"
    lines += [f"Data: {', '.join(files)} (from {origin}).", ""]
    lines += _machine_lines(res.data)
    for caption, md in view.tables:
        lines += [f"**{caption}.**", "", *md]
    for i, sp in enumerate(view.speedups):
        if not (sp.bars or sp.lines):
            continue
        name = f"{prefix}{res.name}_speedup{i + 1}.png"
        _write_if_changed(assets / name, speedup_png(sp), written)
        lines += [f"```{{figure}} {(ASSETS / name).as_posix()}", f":alt: {sp.title}", "",
                  f"Speed-up, {escape(sp.title)}: above 1 (the black line) ipsbook is faster.",
                  "```", ""]
    if view.growth and view.growth.series:
        name = f"{prefix}{res.name}_growth.png"
        _write_if_changed(assets / name, growth_png(view.growth), written)
        fits = [(f"`{m}`", f"{k:.2f}", _num(a)) for m, (k, a) in view.growth.fits.items()]
        lines += [f"```{{figure}} {(ASSETS / name).as_posix()}", ":alt: cost against size", "",
                  ("Cost against size (log-log); the dashed lines are the fits "
                  "s = a·nᵏ that the benchmark stored (k = 1: linear)."), "```", ""]
        if fits:
            lines += table(("method", "fitted exponent k", "a [s]"), fits, "lrr")
    elif res.name in VIEWS:
        lines += ["This benchmark sweeps no size, so it has no growth plot.", ""]
    if view.targets:
        lines += ["**Targets** (reported, not enforced).", ""]
        lines += table(("target", "required", "measured", "verdict"), view.targets, "llrl")
    return lines


def _wall_time_lines(
    records: Sequence[Mapping[str, Any]], profile: str, linked: Collection[str],
) -> list[str]:
    lines = [f"## Chapter run times (profile `{profile}`)", ""]
    if not records:
        return lines + [(f"No chapter has run under `{profile}` yet (`ipsbook run all "
                        f"--profile {profile}`)."), ""]
    rows, total = [], 0.0
    for r in records:
        wall = r.get("wall_s")
        total += wall if isinstance(wall, (int, float)) else 0.0
        commit = (r.get("git_commit") or "")[:10]
        dirty = " (dirty)" if r.get("git_dirty") else ""
        name = f"{{doc}}`{r['name']} <chapters/{r['name']}>`" if r["name"] in linked \
            else f"`{r['name']}`"
        rows.append((name, _num(wall, 4),
                     r.get("started") or "—", f"`{commit}`{dirty}" if commit else "—",
                     r.get("executed_on") or "—", r.get("host") or "—"))
    lines += [("The wall time `ipsbook run` recorded in each chapter's `run.json` (the whole "
               "papermill execution, kernel start included; a cached chapter keeps the time of "
               "the run that made it)."), ""]
    lines += table(("chapter", "wall time [s]", "started", "commit", "executed on", "host"),
                   rows, "lrllll")
    return lines + [f"Total: {_num(total, 4)} s over {len(records)} chapter(s).", ""]


def _reference_lines(reference: Sequence[Result], assets: Path, written: set[Path]) -> list[str]:
    machines = sorted({f"{(r.data.get('machine') or {}).get('cpu_model', '?')}, "
                       f"{(r.data.get('machine') or {}).get('cores', '?')} cores"
                       for r in reference})
    dates = sorted({str(r.data.get("created", "?"))[:10] for r in reference})
    lines = ["(performance-reference)=", "## Reference machine (frozen)", "",
             ("The `make bench` results of the machine the reference runs were made on, frozen "
              "in `results/bench/` (`ipsbook freeze bench`) so that every build shows them: "
              f"{'; '.join(machines)}, run on {', '.join(dates)}. Each section below names the "
              "machine and the date it was measured; compare ratios within one run."), "",
             "Benchmarks: " + ", ".join(f"{{ref}}`{r.name} <{r.name}-bench-ref>`"
                                        for r in reference) + ".", ""]
    for res in reference:
        lines += _benchmark_section(res, assets, written, frozen=True)
    return lines


def performance_markdown(
    results: Sequence[Result], records: Sequence[Mapping[str, Any]], profile: str,
    assets: Path, written: set[Path], linked: Collection[str] = (),
    reference: Sequence[Result] = (),
) -> str:
    """The page (MyST Markdown); figures and data copies go to ``assets``. ``linked``: the
    chapters that are pages of the book (their names link to them). ``reference``: the frozen
    results of the reference machine, shown after this machine's."""
    lines = [
        "(performance)=",
        "# Performance",
        "",
        ("How fast the package's own methods run against what a reader would use instead, as "
        "`make bench` measured them on the machine named in each section, and how long each "
        "chapter took to execute. Generated by `ipsbook build` from `benchmarks/results/*.json` "
        "and the chapters' `run.json`; the benchmarks are described in `benchmarks/README.md`. "
        "Compare ratios within one run: absolute times depend on the machine and its load."),
        "",
    ]
    if results:
        lines += ["Benchmarks on this page: "
                  + ", ".join(f"{{ref}}`{r.name} <{r.name}-bench>`" for r in results) + ".", ""]
        for res in results:
            lines += _benchmark_section(res, assets, written)
    else:
        shown = (" The reference machine's results are below (frozen)." if reference else "")
        lines += [
            "```{important}",
            ("`make bench` has not been run on this machine: `benchmarks/results/` holds no "
            f"results, so there are no local benchmark tables or plots here.{shown} Run"),
            "",
            "    make bench",
            "",
            ("(`benchmarks/README.md` says what each benchmark measures, how long it takes and "
            "its quicker variants), then build the book again (`ipsbook build`) to fill this "
            "page."),
            "```",
            "",
        ]
    lines += _wall_time_lines(records, profile, linked)
    if reference:
        lines += _reference_lines(reference, assets, written)
    return "\n".join(lines).rstrip() + "\n"


def write_performance_page(
    results_dir: str | Path, runs_root: str | Path, profile: str, dest: str | Path,
    *, linked: Collection[str] = (), reference_dir: str | Path | None = None,
) -> Path:
    """Write ``dest`` (``book/performance.md``) and its assets beside it; remove stale assets.
    ``linked``: chapter names that are pages of the book (``book/chapters/<name>``)."""
    dest = Path(dest)
    assets = dest.parent / ASSETS
    written: set[Path] = set()
    reference = load_results(reference_dir) if reference_dir is not None else []
    text = performance_markdown(load_results(results_dir), load_wall_times(runs_root, profile),
                                profile, assets, written, linked, reference)
    _write_if_changed(dest, text.encode("utf-8"), written)
    if assets.is_dir():
        for stale in sorted(assets.iterdir()):
            if stale.is_file() and stale.resolve() not in written:
                stale.unlink()
    return dest


__all__ = [
    "ASSETS", "VIEWS", "Growth", "PerformanceError", "Result", "Speedups", "View",
    "growth_png", "load_results", "load_wall_times", "performance_markdown", "speedup_png",
    "write_performance_page",
]

