"""Two ways to split one site's samples into train / validation / test (paper E, Sect. IV.A).

* ``"trace"`` — whole traces (:func:`ipsbook.data.ilc.split_traces`, 8:5:1): no walk leaks
  across splits, but on the malls a test walk mostly visits places no training walk went.
* ``"blocks"`` — *walked corridors* (:func:`block_split`): each trace is cut into contiguous
  time blocks of ``block_s`` seconds, and the blocks (not the traces) are split 8:5:1. A test
  block then lies between training blocks of the same walk, on a corridor that was walked for
  training — the setting of the paper, whose test rounds retrace its training rounds.

**The gap.** A sample at time ``t`` reads the window ``[t - window_s, t]`` of IMU and
magnetometer readings. Where a block follows a block of another split, the samples of its
first ``gap_s`` seconds (``gap_s >= window_s``) are dropped (label ``"gap"``), so that no kept
window holds a reading of another split's time span: no window spans two splits. (With the
held latest Wi-Fi scan a sample may still read a scan from the block before; with the
paper's "null" when no new scan arrived, the default, it cannot.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...data import ilc

__all__ = ["GAP", "LABELS", "SPLITS", "block_ids", "block_split", "window_spans"]

SPLITS: tuple[str, ...] = ("trace", "blocks")
LABELS: tuple[str, ...] = ("train", "validation", "test")
GAP = "gap"


def _check(block_s: float, gap_s: float, window_s: float) -> None:
    for name, v in (("block_s", block_s), ("gap_s", gap_s), ("window_s", window_s)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not np.isfinite(v) \
                or v <= 0:
            raise ValueError(f"{name}={v!r} must be a finite number > 0 (s)")
    if gap_s < window_s:
        raise ValueError(f"gap_s={gap_s!r} must be at least window_s={window_s!r}: a shorter gap "
                         "lets a window span two splits")
    if block_s <= gap_s:
        raise ValueError(f"block_s={block_s!r} must exceed gap_s={gap_s!r}, or a block after a "
                         "split change keeps no sample")


def block_ids(trace: Sequence, t_s: Sequence[float], block_s: float) -> np.ndarray:
    """``"<trace>#<k>"`` for each sample: block ``k`` = ``floor((t - t_first) / block_s)`` of
    its trace, ``t_first`` the trace's first sample time."""
    trace = np.asarray(trace)
    t = np.asarray(t_s, np.float64)
    if trace.shape != t.shape or t.ndim != 1:
        raise ValueError(f"trace and t_s must be 1-D of one length; got {trace.shape}, {t.shape}")
    out = np.empty(len(t), dtype=object)
    for tid in np.unique(trace):
        rows = np.flatnonzero(trace == tid)
        k = np.floor((t[rows] - t[rows].min()) / block_s + 1e-9).astype(int)
        out[rows] = [f"{tid}#{j}" for j in k]
    return out


def block_split(
    trace: Sequence,
    t_s: Sequence[float],
    *,
    block_s: float = 10.0,
    gap_s: float = 1.0,
    window_s: float = 1.0,
    ratios: Sequence[float] = (8, 5, 1),
    seed: int = 0,
) -> np.ndarray:
    """Per sample: ``"train"``, ``"validation"``, ``"test"`` or ``"gap"`` (module notes).

    The blocks are split by :func:`ipsbook.data.ilc.split_traces` on their ids (sorted, then a
    seeded permutation, largest-remainder sizes), so the result depends only on the samples'
    traces and times, ``block_s`` and ``seed``."""
    _check(block_s, gap_s, window_s)
    trace = np.asarray(trace)
    t = np.asarray(t_s, np.float64)
    ids = block_ids(trace, t, block_s)
    uniq = sorted(set(ids))
    parts = ilc.split_traces(uniq, ratios, seed=seed)
    label_of = {b: k for k, bs in parts.items() for b in bs}
    labels = np.array([label_of[b] for b in ids], dtype=object)
    for tid in np.unique(trace):
        rows = np.flatnonzero(trace == tid)
        rows = rows[np.argsort(t[rows], kind="stable")]
        t0 = t[rows].min()
        k = np.floor((t[rows] - t0) / block_s + 1e-9).astype(int)
        lab = {int(kk): labels[r] for kk, r in zip(k, rows)}
        for kk in sorted(lab):
            prev = lab.get(kk - 1)
            if prev is None or prev == lab[kk]:
                continue
            start = t0 + kk * block_s
            drop = rows[(k == kk) & (t[rows] - gap_s < start)]
            labels[drop] = GAP
        # a block whose previous block had no sample (a hole in the trace): its window may
        # still reach back into an earlier block of another split
        for kk in sorted(lab):
            if kk - 1 in lab or kk == min(lab):
                continue
            earlier = [j for j in lab if j < kk]
            if earlier and lab[max(earlier)] != lab[kk]:
                start = t0 + kk * block_s
                labels[rows[(k == kk) & (t[rows] - gap_s < start)]] = GAP
    return labels


def window_spans(trace: Sequence, t_s: Sequence[float], labels: Sequence[str],
                 window_s: float = 1.0) -> int:
    """How many kept samples' windows ``[t - window_s, t]`` contain the time of a kept sample
    of another split in the same trace (0 for a valid split; what the tests check)."""
    trace = np.asarray(trace)
    t = np.asarray(t_s, np.float64)
    lab = np.asarray(labels, dtype=object)
    bad = 0
    for tid in np.unique(trace):
        rows = np.flatnonzero((trace == tid) & (lab != GAP))
        rows = rows[np.argsort(t[rows], kind="stable")]
        tt, ll = t[rows], lab[rows]
        lo = np.searchsorted(tt, tt - window_s, side="left")
        for i in range(len(rows)):
            if np.any(ll[lo[i]:i] != ll[i]):
                bad += 1
    return bad
