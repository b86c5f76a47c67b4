"""The IMU-LSTM pre-trained round-wise on the authors' own rounds (``uoe-rounds``), leave one
round out, against the mean-position predictor.

Paper E pre-trains its IMU-LSTM (Sect. IV.B, Table IV) on rounds of one route and transfers it;
the route here is the first author's own (:mod:`ipsbook.data.uoe`): five rounds of one closed
four-corner loop. :func:`leave_one_round_out` asks the question that comes first: does the
LSTM, from a 1 s window of |acc| and |gyro| alone, place the walker on the loop better than
always answering the mean training position?

**Folds.** With the rounds in order (1, 5, 9, 11, 12), each round in turn is the *test*
round; the next one (cyclically: 1→5, 5→9, 9→11, 11→12, 12→1) is the *validation* round,
whose mean error picks the LSTM's best epoch (:func:`.train.fit` restores it; under a
``config.stop`` rule it is also the round the plateau is watched on); the other three are the
*training* rounds. Each round is validation once and test once.

**Models** (all on the same test windows):

* ``imu-lstm``: :func:`.train.pretrain_imu` on the training rounds' samples (the paper's
  Table IV settings by default: RMSprop, learning rate 0.005; epochs and batch from the
  caller), one model per seed; the seed also draws its initial weights and batch order.
* ``mean-position``: always the mean position of the training rounds' samples.
* ``wifi-knn`` (context only): the Wi-Fi kNN of :func:`.baselines.wifi_knn` (raw dBm,
  Euclidean, k = 3, distance-weighted), fitted on the four non-test rounds. **Not a test of
  paper E's Wi-Fi claims**: the logs repeat cached scans (a handful of distinct scans per
  round), so the Wi-Fi vector barely changes along a round.

The samples are :func:`ipsbook.data.uoe.build_samples` (paper E's format: every 100 ms, the
previous second of |acc| |gyro| picked every 100 ms, position at the window's end); the
Wi-Fi vocabulary of a fold is every BSSID heard in its four non-test rounds (the LSTM does not
read Wi-Fi).

**Verdict.** Per test round, "the LSTM beats the mean position by ``margin``" (default 10 %)
(:data:`.transfer.TRANSFER_GATE_MARGIN`, the margin of the transfer gate) is judged on the
paired per-window difference ``e_lstm - (1 - margin) * e_mean`` (``e_lstm``
the per-window error averaged over seeds): *yes* when the whole ``level`` interval of its
mean lies below 0, *no* when it lies above, *unresolved* when it straddles 0. The windows
overlap by 90 % and neighbouring ones err alike, so the interval is a bootstrap
(:func:`ipsbook.stats.mean_interval`) over the means of contiguous blocks of ``block_s``
seconds (default 10 s), not over single windows. ``overall`` judges the same difference over
the rounds: the per-round mean differences, a Student-t interval over the rounds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as _st

from ...data import uoe
from ...stats import Interval, mean_interval
from .baselines import wifi_knn
from .train import FitConfig, errors_m, pretrain_imu
from .transfer import TRANSFER_GATE_MARGIN

__all__ = ["MODELS", "RoundsResult", "folds", "leave_one_round_out", "verdict"]

MODELS: tuple[str, ...] = ("imu-lstm", "mean-position", "wifi-knn")

COMPARISON_COLUMNS = (
    "test_round", "val_round", "train_rounds", "n_windows", "n_seeds", "imu_lstm_mean_m",
    "mean_position_mean_m", "wifi_knn_mean_m", "ratio", "margin", "diff_mean_m", "diff_lo_m",
    "diff_hi_m", "n_blocks", "level", "verdict",
)


@dataclass
class RoundsResult:
    """The tidy tables of :func:`leave_one_round_out`.

    * ``errors``: test_round, val_round, seed, model, t_s, error_m (one row per test window
      and model; ``mean-position`` and ``wifi-knn`` do not depend on the seed: seed -1).
    * ``comparison``: one row per test round (:data:`COMPARISON_COLUMNS`): mean errors,
      ``ratio`` = LSTM / mean position, the difference ``e_lstm - (1 - margin) e_mean``
      with its interval over blocks, and ``verdict`` (``"beats"``, ``"does not beat"``,
      ``"unresolved"``).
    * ``overall``: one row: the same difference over the rounds (Student t).
    * ``training``: one row per (test round, seed): :meth:`.train.FitHistory.summary` and
      the seconds taken.
    * ``summary``: :func:`ipsbook.data.uoe.round_summary` of the rounds used.
    """

    errors: pd.DataFrame
    comparison: pd.DataFrame
    overall: pd.DataFrame
    training: pd.DataFrame
    summary: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


def folds(round_ids: Sequence[int]) -> list[dict[str, Any]]:
    """``[{"test": r, "val": next round (cyclic), "train": the others}, ...]`` for the rounds
    in the given order (at least 3)."""
    ids = list(round_ids)
    if len(ids) < 3:
        raise ValueError(f"round_ids={ids!r}: leave one round out needs at least 3 rounds "
                         "(training, validation, test)")
    if len(set(ids)) != len(ids):
        raise ValueError(f"round_ids={ids!r} has duplicates")
    out = []
    for i, test in enumerate(ids):
        val = ids[(i + 1) % len(ids)]
        out.append({"test": test, "val": val, "train": [r for r in ids if r not in (test, val)]})
    return out


def verdict(iv: Interval) -> str:
    """``"beats"`` when the interval of ``e_lstm - (1 - margin) e_mean`` lies below 0,
    ``"does not beat"`` above, ``"unresolved"`` when it straddles 0 (or rests on one value)."""
    if iv.n < 2:
        return "unresolved"
    side = iv.side()
    return {-1: "beats", 1: "does not beat"}.get(side, "unresolved")


def _blocks(t_s: np.ndarray, values: np.ndarray, block_s: float) -> np.ndarray:
    """Means of ``values`` over contiguous blocks of about ``block_s`` seconds of windows
    (equal counts; the duration is the window count times the usual step, so a gap in the
    log, as in round 9, does not add blocks)."""
    step = float(np.median(np.diff(t_s))) if len(t_s) > 1 else block_s
    n = max(1, min(len(values), round(len(values) * step / block_s)))
    return np.array([c.mean() for c in np.array_split(values, n)])


def _t_interval(x: np.ndarray, level: float) -> Interval:
    x = np.asarray(x, float)
    m = float(x.mean())
    if x.size < 2 or np.ptp(x) == 0.0:
        return Interval(m, m, m, int(x.size), "rounds", level)
    half = float(_st.t.ppf((1 + level) / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return Interval(m, m - half, m + half, int(x.size), "rounds", level)


def leave_one_round_out(
    rounds: Sequence[uoe.Round] | None = None,
    *,
    epochs: int = 100,
    batch_size: int = 32,
    seeds: Sequence[int] = (0,),
    lr: float = 0.005,
    config: FitConfig | None = None,
    margin: float = TRANSFER_GATE_MARGIN,
    level: float = 0.95,
    block_s: float = 10.0,
    n_boot: int = 4000,
    knn_k: int = 3,
    step_s: float = 0.1,
    num_threads: int | None = None,
    progress: bool = False,
) -> RoundsResult:
    """Leave-one-round-out IMU-LSTM vs the mean position (module notes); tidy tables.

    ``rounds``: :class:`ipsbook.data.uoe.Round` objects (default: the five registered ones).
    Sizes: ``epochs``, ``batch_size``, ``lr`` build the :class:`.train.FitConfig` unless
    ``config`` is given (then used as is, e.g. a profile's with its ``stop`` rule); ``seeds``:
    one LSTM per seed and fold. ``step_s``: the sample step (0.1 s as in the paper; larger is
    fewer, less overlapping windows). ``margin``, ``level``, ``block_s``, ``n_boot``: the
    verdict (module notes). Deterministic for given arguments on one machine (CPU)."""
    if not 0.0 <= margin < 1.0:
        raise ValueError(f"margin={margin!r} must be in [0, 1)")
    if not (isinstance(block_s, (int, float)) and block_s > 0):
        raise ValueError(f"block_s={block_s!r} must be a positive number (s)")
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ValueError(f"seeds={seeds!r} must be distinct non-negative integers, at least one")
    cfg = config if config is not None else FitConfig(
        epochs=epochs, lr=lr, batch_size=batch_size, num_threads=num_threads)
    rounds = uoe.load_rounds() if rounds is None else list(rounds)
    by_id = {r.round_id: r for r in rounds}
    if len(by_id) != len(rounds):
        raise ValueError("rounds has duplicate round ids; each round once")
    plan = folds([r.round_id for r in rounds])

    err_parts: list[pd.DataFrame] = []
    comp_rows: list[dict[str, Any]] = []
    train_rows: list[dict[str, Any]] = []
    diffs: list[float] = []
    for fold in plan:
        test, val, train = fold["test"], fold["val"], fold["train"]
        known = [by_id[r] for r in [*train, val]]
        vocab = uoe.wifi_vocabulary(known)
        s = uoe.build_samples([*known, by_id[test]], vocab, step_s=step_s)
        tid = s.trace_id
        pick = {k: s.subset(np.isin(tid, [by_id[r].name for r in ids]))
                for k, ids in (("train", train), ("val", [val]), ("known", [*train, val]),
                               ("test", [test]))}
        te = pick["test"]
        t_s = te.t_s
        base = {"test_round": test, "val_round": val}

        def rows(model: str, seed: int, err: np.ndarray, base: dict = base,
                 t_s: np.ndarray = t_s) -> pd.DataFrame:
            return pd.DataFrame({**base, "seed": seed, "model": model, "t_s": t_s,
                                 "error_m": np.asarray(err, float)})

        centroid = np.asarray(pick["train"].pos, np.float64).mean(axis=0)
        e_mean = np.linalg.norm(np.asarray(te.pos, np.float64) - centroid, axis=1)
        knn = wifi_knn(pick["known"], te, None, (knn_k,), configs=(("raw", "euclidean"),))
        e_lstm_seeds = []
        for seed in seeds:
            t0 = time.perf_counter()
            model, hist = pretrain_imu(pick["train"], pick["val"], config=cfg, seed=seed,
                                       progress=progress)
            e = errors_m(model, te)
            e_lstm_seeds.append(e)
            err_parts.append(rows("imu-lstm", seed, e))
            train_rows.append({**base, "seed": seed, **hist.summary(),
                               "seconds": time.perf_counter() - t0})
        err_parts += [rows("mean-position", -1, e_mean), rows("wifi-knn", -1, knn.errors)]

        e_lstm = np.mean(e_lstm_seeds, axis=0)
        d = e_lstm - (1.0 - margin) * e_mean
        blocks = _blocks(t_s, d, block_s)
        iv = mean_interval(blocks, "bootstrap", level=level, n_boot=n_boot, seed=int(test))
        diffs.append(float(d.mean()))
        comp_rows.append({
            **base, "train_rounds": ",".join(map(str, train)), "n_windows": len(te),
            "n_seeds": len(seeds), "imu_lstm_mean_m": float(e_lstm.mean()),
            "mean_position_mean_m": float(e_mean.mean()),
            "wifi_knn_mean_m": float(knn.errors.mean()),
            "ratio": float(e_lstm.mean() / e_mean.mean()), "margin": margin,
            "diff_mean_m": float(d.mean()), "diff_lo_m": iv.lo, "diff_hi_m": iv.hi,
            "n_blocks": iv.n, "level": level, "verdict": verdict(iv),
        })

    comparison = pd.DataFrame(comp_rows, columns=list(COMPARISON_COLUMNS))
    ov = _t_interval(np.array(diffs), level)
    overall = pd.DataFrame([{
        "n_rounds": len(plan), "margin": margin,
        "imu_lstm_mean_m": float(comparison["imu_lstm_mean_m"].mean()),
        "mean_position_mean_m": float(comparison["mean_position_mean_m"].mean()),
        "wifi_knn_mean_m": float(comparison["wifi_knn_mean_m"].mean()),
        "diff_mean_m": ov.mean, "diff_lo_m": ov.lo, "diff_hi_m": ov.hi, "level": level,
        "verdict": verdict(ov),
    }])
    errors = pd.concat(err_parts, ignore_index=True)
    info = {
        "rounds": [r.round_id for r in rounds],
        "folds": plan,
        "config": {"epochs": cfg.epochs, "lr": cfg.lr, "batch_size": cfg.batch_size,
                   "optimizer": cfg.optimizer,
                   "stop": None if getattr(cfg, "stop", None) is None else str(cfg.stop)},
        "seeds": seeds,
        "step_s": step_s,
        "block_s": block_s,
        "knn": {"k": knn_k, "representation": "raw", "metric": "euclidean"},
    }
    return RoundsResult(
        errors=errors,
        comparison=comparison,
        overall=overall,
        training=pd.DataFrame(train_rows),
        summary=uoe.round_summary(rounds),
        info=info,
    )
