"""Run time of paper B's EDM resolvers against the usual ones as the network grows (issue 5).

Every method runs on the same simulated FTM network for a given number of APs: 50 m x 50 m,
10 random interior walls, ``FTMModel(sigma_los=1.0, p_missing=0.2)``, the measured matrix
symmetrised by ``min``. For each size, each method gets one untimed warm-up call, then R timed
repeats *interleaved* across methods (repeat 1 of every method, then repeat 2, ...), and the best
of R ``time.perf_counter`` wall times is kept. A call that would pass the time limit (default
60 s) is not waited for: it is recorded as skipped, with the reason. See ``benchmarks/README.md``.

    python benchmarks/bench_edm.py                         # 10, 30, 100, 300 APs; R = 3 (1 at 300)
    python benchmarks/bench_edm.py --quick                 # 10, 30, 100 APs, R = 1: a few seconds
    python benchmarks/bench_edm.py --sizes 50 200 --repeats 2 --out /tmp/bench

Results: ``<out>/edm_scaling.json`` (everything), ``<out>/edm_scaling.csv`` (one row per method
and size), and a table on stdout. ``run(...)`` is the same thing as a function (the tests call it).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ipsbook.book import benchio
from ipsbook.book.benchio import csv_number as _fmt
from ipsbook.book.benchio import log, loglog_fit
from ipsbook.methods.edm import (
    classical_mds,
    complete_shortest_path,
    experiment,
    position_errors,
    smacof,
    smacof_sklearn,
    symmetrise,
)
from ipsbook.methods.edm.iag import iag_resolve
from ipsbook.methods.edm.wall_remover import wall_remover
from ipsbook.radio import FTMModel

HERE = Path(__file__).resolve().parent
SCHEMA = 1
BENCHMARK = "edm_scaling"
DEFAULT_OUT = HERE / "results"
DEFAULT_SIZES = (10, 30, 100, 300)
QUICK = {"sizes": (10, 30, 100), "repeats": 1}
REPEATS_SMALL, REPEATS_LARGE, LARGE_ABOVE = 3, 1, 100  # R = 3 up to 100 APs, 1 above
TIME_LIMIT_S = 60.0  # one call that would take longer is skipped, with its reason
MAX_DRAWS = 20  # network draws tried per size until the graph of measured pairs is connected

# the network (issue 5)
WIDTH_M = HEIGHT_M = 50.0
N_WALLS = 10
MODEL = FTMModel(sigma_los=1.0, p_missing=0.2)
SYMMETRISE = "min"

# method settings: those of the chapter (notebooks/ftm.py) where it sets them
WR_TOLERANCE_M = 3.0 * MODEL.sigma_los  # the chapter's ε: 3 LoS σ
WR_LEARNING_RATE = 0.05
WR_MAX_QUADRUPLES = 200_000  # the full enumeration grows as n^4: capped above WR_CAP_ABOVE APs
WR_CAP_ABOVE = 100  # 100 APs have ~170k contained quadruples: uncapped up to there
IAG_VARIANT = "mean"

# the target (issue 5): Wall Remover + IAG on 100 APs within 2 s
TARGET_METHOD, TARGET_N, TARGET_SECONDS = "wr_iag", 100, 2.0

METHODS: dict[str, dict[str, str]] = {
    "mds": {"label": "classical MDS (shortest-path completion inside)",
            "call": 'classical_mds(D, 2, complete="shortest_path")'},
    "smacof_sklearn": {"label": "SMACOF, scikit-learn (on the shortest-path-completed D)",
                       "call": "smacof_sklearn(complete_shortest_path(D), 2, 0)"},
    "smacof_weighted": {"label": "weighted SMACOF (ipsbook; NaN pairs get weight 0)",
                        "call": "smacof(D, 2, seed=0)"},
    "wall_remover": {"label": "Wall Remover (paper B, Alg. 1)",
                     "call": "wall_remover(D, tolerance=..., learning_rate=..., "
                             "max_quadruples=..., seed=0)"},
    "iag": {"label": "IAG, variant mean (paper B, Alg. 2)",
            "call": 'iag_resolve(D, variant="mean", seed=0)'},
    "wr_iag": {"label": "Wall Remover + IAG",
               "call": 'iag_resolve(wall_remover(D, ...).D, variant="mean", seed=0)'},
    "completion": {"label": "shortest-path completion alone (info: part of mds, smacof_sklearn)",
                   "call": "complete_shortest_path(D)"},
}


# --------------------------------------------------------------------------------------------
# the network
# --------------------------------------------------------------------------------------------

def _connected(D: np.ndarray) -> bool:
    from scipy.sparse.csgraph import connected_components

    M = ~np.isnan(D)
    np.fill_diagonal(M, False)
    return connected_components(M, directed=False)[0] == 1


def make_network(n_aps: int, seed: int = 0) -> dict[str, Any]:
    """One simulated FTM network of ``n_aps`` APs, the same for every method at this size.

    Draw ``k`` uses the random stream ``(seed, n_aps, k)``; draws are tried in turn until the
    graph of measured pairs is connected (completion and SMACOF need it), at most ``MAX_DRAWS``.
    """
    if int(n_aps) != n_aps or n_aps < 4:
        raise ValueError(f"n_aps must be an integer >= 4, got {n_aps!r}")
    cfg = experiment.NetworkConfig(width_m=WIDTH_M, height_m=HEIGHT_M, n_aps=int(n_aps),
                                   n_walls=N_WALLS, model=MODEL)
    t = time.perf_counter()
    for k in range(MAX_DRAWS):
        rng = np.random.default_rng([seed, int(n_aps), k])
        _, X, ranges = experiment.simulate_network(cfg, rng)
        D = symmetrise(ranges.D, SYMMETRISE)
        if _connected(D):
            break
    iu = np.triu_indices(int(n_aps), 1)
    return {
        "D": D, "X_true": X,
        "info": {"n_aps": int(n_aps), "seed": [seed, int(n_aps), k], "draws": k + 1,
                 "connected": bool(_connected(D)),
                 "missing_share": float(np.mean(np.isnan(D[iu]))),
                 "nlos_share": float(np.mean(~ranges.los[iu])),
                 "simulate_seconds": time.perf_counter() - t},
    }


# --------------------------------------------------------------------------------------------
# the methods (each a zero-argument callable on the network's D)
# --------------------------------------------------------------------------------------------

def wr_kwargs(n_aps: int, max_quadruples: int | None = WR_MAX_QUADRUPLES,
              cap_above: int = WR_CAP_ABOVE) -> dict[str, Any]:
    """The Wall Remover's settings at ``n_aps`` (the quadruple cap only above ``cap_above``)."""
    return {"tolerance": WR_TOLERANCE_M, "learning_rate": WR_LEARNING_RATE,
            "max_quadruples": max_quadruples if n_aps > cap_above else None, "seed": 0}


def _method_fns(D: np.ndarray, wr_kw: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    return {
        "mds": lambda: classical_mds(D, 2, complete="shortest_path"),
        "smacof_sklearn": lambda: smacof_sklearn(complete_shortest_path(D), 2, 0),
        "smacof_weighted": lambda: smacof(D, 2, seed=0),
        "wall_remover": lambda: wall_remover(D, **wr_kw),
        "iag": lambda: iag_resolve(D, variant=IAG_VARIANT, seed=0),
        "wr_iag": lambda: iag_resolve(wall_remover(D, **wr_kw).D, variant=IAG_VARIANT, seed=0),
        "completion": lambda: complete_shortest_path(D),
    }


def _result_info(key: str, res: Any, X_true: np.ndarray) -> dict[str, Any]:
    """What a method produced (information, not a check): position RMSE, WR contractions."""
    if key == "completion":
        return {}
    if key == "wall_remover":
        return {"contractions": len(res.contractions), "converged": bool(res.converged),
                "quadruples_first_pass": int(res.quadruples_per_pass[0])}
    X = res if isinstance(res, np.ndarray) else res.X
    err = position_errors(X, X_true)
    return {"rmse_m": err.rmse if math.isfinite(err.rmse) else None, "unplaced": err.n_unplaced}


# --------------------------------------------------------------------------------------------
# timing, with a limit per call
# --------------------------------------------------------------------------------------------

def _predict(points: list[tuple[int, float]], n: int) -> tuple[float, float] | None:
    """Extrapolated seconds at ``n`` from the two largest timed sizes (local log-log slope,
    at least 1), and that slope; None without two points."""
    if len(points) < 2:
        return None
    (n1, t1), (n2, t2) = points[-2], points[-1]
    k = max(1.0, math.log(t2 / t1) / math.log(n2 / n1)) if t1 > 0 and t2 > 0 else 1.0
    return t2 * (n / n2) ** k, k


def repeats_for(n_aps: int, repeats: int | None) -> int:
    """R at this size: ``repeats`` if given, else 3 up to 100 APs and 1 above."""
    if repeats is not None:
        return int(repeats)
    return REPEATS_SMALL if n_aps <= LARGE_ABOVE else REPEATS_LARGE


def _time_size(net: dict[str, Any], fns: dict[str, Callable[[], Any]], repeats: int,
               limit: float, pre_skip: dict[str, str], verbose: bool) -> dict[str, dict]:
    """Warm-up each method, then ``repeats`` interleaved rounds
    (:func:`benchio.time_interleaved`, every call under the time ``limit``); per method a row.
    The warm-up's result gives the row's ``info`` (RMSE and the like)."""
    n = net["info"]["n_aps"]
    jobs = {key: {"row": {"method": key, "n_aps": n, "repeats": repeats, "seconds": None,
                          "seconds_median": None, "times": [], "warmup_seconds": None,
                          "skipped": pre_skip.get(key), "info": {}},
                  "run": fn, "limit": limit,
                  "check": lambda res, key=key: _result_info(key, res, net["X_true"])}
            for key, fn in fns.items()}
    benchio.time_interleaved(jobs, repeats, verbose)
    return {key: job["row"] for key, job in jobs.items()}


# --------------------------------------------------------------------------------------------
# machine info (benchio.machine)
# --------------------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    return benchio.machine()


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------

def run(sizes: Sequence[int] = DEFAULT_SIZES, repeats: int | None = None, *,
        out: str | Path | None = None, seed: int = 0, time_limit_s: float = TIME_LIMIT_S,
        wr_max_quadruples: int | None = WR_MAX_QUADRUPLES, wr_cap_above: int = WR_CAP_ABOVE,
        verbose: bool = True, quick: bool = False) -> dict[str, Any]:
    """Run the benchmark; return the results dict and, when ``out`` is given, write
    ``edm_scaling.json`` and ``edm_scaling.csv`` there (atomically: a failed run leaves the last
    good files alone). ``repeats=None``: 3 up to 100 APs, 1 above."""
    sizes = sorted({int(s) for s in sizes})
    if not sizes or sizes[0] < 4:
        raise ValueError(f"sizes must be integers >= 4, got {sizes!r}")
    if repeats is not None and (int(repeats) != repeats or repeats < 1):
        raise ValueError(f"repeats must be an integer >= 1 or None, got {repeats!r}")
    if not time_limit_s > 0:
        raise ValueError(f"time_limit_s must be > 0, got {time_limit_s!r}")
    t_start = time.perf_counter()
    load_before = benchio.load_average()

    rows: list[dict[str, Any]] = []
    networks: dict[str, dict[str, Any]] = {}
    settings: dict[str, dict[str, Any]] = {}
    timed: dict[str, list[tuple[int, float]]] = {k: [] for k in METHODS}
    over: dict[str, int] = {}  # method -> size at which it passed the limit
    for n in sizes:
        net = make_network(n, seed)
        networks[str(n)] = net["info"]
        wr_kw = wr_kwargs(n, wr_max_quadruples, wr_cap_above)
        settings[str(n)] = {"repeats": repeats_for(n, repeats), "wall_remover": wr_kw,
                            "iag": {"variant": IAG_VARIANT, "n_origins": None, "seed": 0},
                            "smacof_weighted": {"n_init": 4, "max_iter": 300, "seed": 0},
                            "smacof_sklearn": {"n_init": 4, "max_iter": 300, "seed": 0}}
        log(verbose, f"{n} APs: {net['info']['missing_share']:.0%} pairs missing, "
             f"{net['info']['nlos_share']:.0%} NLoS, R = {repeats_for(n, repeats)}, "
             f"WR max_quadruples = {wr_kw['max_quadruples']}")
        pre_skip: dict[str, str] = {}
        for key in METHODS:
            if key in over:
                pre_skip[key] = (f"time limit: passed {time_limit_s:g} s already at "
                                 f"{over[key]} APs")
                continue
            pred = _predict(timed[key], n)
            if pred is not None and pred[0] > time_limit_s:
                pre_skip[key] = (f"time limit: predicted {pred[0]:.0f} s > {time_limit_s:g} s "
                                 f"(from {timed[key][-1][0]} APs, local exponent {pred[1]:.2f})")
        size_rows = _time_size(net, _method_fns(net["D"], wr_kw), repeats_for(n, repeats),
                               time_limit_s, pre_skip, verbose)
        for key, row in size_rows.items():
            if row["seconds"] is not None:
                timed[key].append((n, row["seconds"]))
            elif row["skipped"] and row["skipped"].startswith("time limit") and key not in over:
                over[key] = n
            rows.append(row)

    growth = {k: loglog_fit(timed[k]) for k in METHODS}
    target = _target(rows, sizes)
    doc: dict[str, Any] = {
        "schema": SCHEMA, "benchmark": BENCHMARK,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": bool(quick),
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": benchio.load_average(),
        "sizes": sizes,
        "network": {"width_m": WIDTH_M, "height_m": HEIGHT_M, "n_walls": N_WALLS,
                    "model": dataclasses.asdict(MODEL), "symmetrise": SYMMETRISE,
                    "seed": seed, "by_size": networks},
        "methods": METHODS,
        "settings": {"time_limit_s": time_limit_s, "repeats": repeats,
                     "repeats_rule": f"{REPEATS_SMALL} up to {LARGE_ABOVE} APs, "
                                     f"{REPEATS_LARGE} above (unless --repeats)",
                     "wr_max_quadruples": wr_max_quadruples, "wr_cap_above_aps": wr_cap_above,
                     "by_size": settings},
        "timing": {"method": "one untimed warm-up call per method and size, then best of R "
                             "perf_counter wall times; repeats interleaved across methods; a "
                             "call past time_limit_s (SIGALRM) or predicted past it from the "
                             "smaller sizes is skipped"},
        "rows": rows,
        "growth": growth,
        "targets": {"wr_iag_100_aps_within_2s": target},
        "elapsed_seconds": time.perf_counter() - t_start,
    }
    if out is not None:
        write(doc, Path(out))
    if verbose:
        print(report(doc))
    return doc


def _target(rows: list[dict[str, Any]], sizes: Sequence[int]) -> dict[str, Any]:
    row = next((r for r in rows if r["method"] == TARGET_METHOD and r["n_aps"] == TARGET_N), None)
    sec = row["seconds"] if row else None
    if row is None:
        reason = f"{TARGET_N} APs not among the sizes {list(sizes)}"
    elif sec is None:
        reason = f"{TARGET_METHOD} skipped at {TARGET_N} APs: {row['skipped']}"
    else:
        reason = None
    return {"what": f"best-of-R seconds of Wall Remover + IAG on {TARGET_N} APs",
            "method": TARGET_METHOD, "n_aps": TARGET_N, "required": f"<= {TARGET_SECONDS:g} s",
            "required_seconds": TARGET_SECONDS, "seconds": sec,
            "measured_over_required": None if sec is None else sec / TARGET_SECONDS,
            "met": None if sec is None else bool(sec <= TARGET_SECONDS), "reason": reason}


# --------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------


def write(doc: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """``edm_scaling.json`` (everything) and ``edm_scaling.csv`` (one row per method and size)."""

    def csv_row(r: dict[str, Any]) -> list[Any]:
        wr = doc["settings"]["by_size"][str(r["n_aps"])]["wall_remover"]["max_quadruples"]
        uses_wr = r["method"] in ("wall_remover", "wr_iag")
        return [r["method"], r["n_aps"], r["repeats"], _fmt(r["seconds"]),
                _fmt(r["seconds_median"]), _fmt(r["warmup_seconds"]),
                _fmt(r["info"].get("rmse_m")),
                (wr if wr is not None else "all") if uses_wr else "",
                _fmt(doc["growth"][r["method"]]["exponent"]), r["skipped"] or ""]

    return benchio.write_results(
        doc, out, BENCHMARK,
        ["method", "n_aps", "repeats", "seconds_best", "seconds_median", "warmup_seconds",
         "rmse_m", "wr_max_quadruples", "exponent", "skipped"],
        (csv_row(r) for r in doc["rows"]))


def report(doc: dict[str, Any]) -> str:
    """The readable table printed at the end of a run."""
    mc, sizes = doc["machine"], doc["sizes"]
    st = doc["settings"]
    lines = [
        f"edm_scaling: best-of-R seconds, {WIDTH_M:g} m x {HEIGHT_M:g} m, {N_WALLS} walls, "
        f"sigma_los {MODEL.sigma_los:g} m, p_missing {MODEL.p_missing:g}; R "
        + ", ".join(f"{n}: {st['by_size'][str(n)]['repeats']}" for n in sizes)
        + ("  [QUICK]" if doc["quick"] else ""),
        (f"machine: {mc['cpu_model']}, {mc['cores']} cores; BLAS/OpenMP pools "
         f"{[p['num_threads'] for p in mc['threads']['threadpoolctl_pools']]}; numpy "
         f"{mc['versions']['numpy']}, scipy {mc['versions']['scipy']}, sklearn "
         f"{mc['versions']['sklearn']}; load avg before {doc['load_average_before']}"),
        "",
    ]
    cell = {(r["method"], r["n_aps"]): r for r in doc["rows"]}
    head = f"{'method':<17}" + "".join(f"{f'{n} APs':>11}" for n in sizes)
    lines.append(head + f"{'exponent':>10}{'exp. top 2':>12}")
    notes: list[str] = []
    for key in doc["methods"]:
        line = f"{key:<17}"
        for n in sizes:
            r = cell.get((key, n))
            if r is None or r["seconds"] is None:
                line += f"{'skipped':>11}"
                if r is not None:
                    notes.append(f"  {key} at {n} APs skipped: {r['skipped']}")
            else:
                line += f"{r['seconds']:>11.4f}"
        g = doc["growth"][key]
        line += "".join(f"{'n/a' if g[k] is None else format(g[k], '.2f'):>{w}}"
                        for k, w in (("exponent", 10), ("exponent_largest_two", 12)))
        lines.append(line)
    lines += notes
    lines.append("  (exponent: least-squares slope of log seconds on log APs over the timed "
                 "sizes; exp. top 2: between the two largest)")
    caps = {n: st["by_size"][str(n)]["wall_remover"]["max_quadruples"] for n in sizes}
    lines.append(f"  Wall Remover: tolerance {WR_TOLERANCE_M:g} m, learning rate "
                 f"{WR_LEARNING_RATE:g}, max_quadruples "
                 + ", ".join(f"{n}: {'all' if c is None else f'{c:,}'}" for n, c in caps.items())
                 + f"; IAG variant {IAG_VARIANT}, all origins")
    rm = [f"{k} {cell[(k, n)]['info']['rmse_m']:.2f}" for n in sizes[-1:] for k in doc["methods"]
          if (k, n) in cell and "rmse_m" in cell[(k, n)]["info"]
          and cell[(k, n)]["info"]["rmse_m"] is not None]
    if rm:
        lines.append(f"  position RMSE at {sizes[-1]} APs (m, info): " + ", ".join(rm))
    t = doc["targets"]["wr_iag_100_aps_within_2s"]
    verdict = {True: "MET", False: "NOT MET", None: "not measured"}[t["met"]]
    sec = "n/a" if t["seconds"] is None else f"{t['seconds']:.3f} s"
    lines += ["", f"target wr_iag_100_aps_within_2s: {t['what']} = {sec} (need {t['required']}): "
              f"{verdict}" + (f" ({t['reason']})" if t["reason"] else "")]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=None,
                   help="numbers of APs (default 10 30 100 300)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed repeats, best kept (default 3 up to 100 APs, 1 above)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder (default {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true",
                   help=f"small sizes for a fast look: {QUICK} (explicit options win)")
    p.add_argument("--time-limit", type=float, default=TIME_LIMIT_S,
                   help="seconds one call may take before it is skipped (default 60)")
    p.add_argument("--wr-max-quadruples", type=int, default=WR_MAX_QUADRUPLES,
                   help=f"Wall Remover quadruple cap above {WR_CAP_ABOVE} APs (default 200000)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    sizes = a.sizes or (QUICK["sizes"] if a.quick else DEFAULT_SIZES)
    repeats = a.repeats if a.repeats is not None else (QUICK["repeats"] if a.quick else None)
    run(sizes=sizes, repeats=repeats, out=a.out, seed=a.seed, time_limit_s=a.time_limit,
        wr_max_quadruples=a.wr_max_quadruples, quick=a.quick)
    print(f"\nwrote {a.out / (BENCHMARK + '.json')} and {a.out / (BENCHMARK + '.csv')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
