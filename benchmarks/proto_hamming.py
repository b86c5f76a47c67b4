"""Prototype kernels for the packed Hamming search: a *suggestion*, not the package's path.

``ipsbook.methods.hamming`` keeps a running ``(best, argmin)`` pair per query and updates it with
a compare-and-branch for every codeword. That loop-carried branch stops LLVM from vectorising:
the package's kernels run one scalar POPCNT per (query, code) pair.

The kernels here split the codebook into blocks of ``BLOCK`` codewords and, per block, first
take the *minimum distance only* (a branch-free min-reduction, which LLVM turns into AVX-512
``vpopcntq`` + ``vpminsq`` on 8 codewords at a time where the CPU has AVX512-VPOPCNTDQ, or AVX2
otherwise). Only a block whose minimum beats (or, for tie averaging, equals) the running best is
scanned again to find the first index / accumulate the tied centres; that happens a handful of
times per query. Four queries share each pass over a block, so each codeword is loaded once per
four queries. The results are bit-identical to the package's (first index of the minimum; the
same tie sets), which ``benchmarks/run.py`` checks on every run.

Only one-word codes (<= 64 bits, the benchmark's 64 beacons) are covered; a multi-word version
sums the per-word popcounts inside the same reduction.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from ipsbook.methods.hamming import _popcount

BLOCK = 512  # codewords per block: 4 KiB of codes, well inside L1 for the four queries
_BIG = np.int64(1) << 62


@numba.njit(parallel=True, cache=True, nogil=True)
def _nearest_blocked(codes, queries, idx, best_d):
    n_q = queries.shape[0]
    n_c = codes.shape[0]
    c = codes[:, 0]
    for b in prange((n_q + 3) // 4):
        i0 = 4 * b
        qs = np.empty(4, np.uint64)
        for t in range(4):
            qs[t] = queries[min(i0 + t, n_q - 1), 0]
        q0, q1, q2, q3 = qs[0], qs[1], qs[2], qs[3]
        best = np.full(4, _BIG)
        arg = np.zeros(4, np.int64)
        for s in range(0, n_c, BLOCK):
            e = min(s + BLOCK, n_c)
            m0 = m1 = m2 = m3 = _BIG
            for j in range(s, e):  # branch-free: vectorised
                cj = c[j]
                m0 = min(m0, np.int64(_popcount(q0 ^ cj)))
                m1 = min(m1, np.int64(_popcount(q1 ^ cj)))
                m2 = min(m2, np.int64(_popcount(q2 ^ cj)))
                m3 = min(m3, np.int64(_popcount(q3 ^ cj)))
            ms = (m0, m1, m2, m3)
            for t in range(4):
                m = ms[t]
                if m < best[t]:  # rare: find the first index of the new minimum in this block
                    q = qs[t]
                    for j in range(s, e):
                        if np.int64(_popcount(q ^ c[j])) == m:
                            arg[t] = j
                            break
                    best[t] = m
        for t in range(4):
            if i0 + t < n_q:
                idx[i0 + t] = arg[t]
                best_d[i0 + t] = best[t]


@numba.njit(parallel=True, cache=True, nogil=True)
def _search_ties_blocked(codes, q_bits, q_mask, centres, est, best_d, n_ties):
    n_q = q_bits.shape[0]
    n_c = codes.shape[0]
    c = codes[:, 0]
    for b in prange((n_q + 3) // 4):
        i0 = 4 * b
        qs = np.empty(4, np.uint64)
        ks = np.empty(4, np.uint64)
        for t in range(4):
            qs[t] = q_bits[min(i0 + t, n_q - 1), 0]
            ks[t] = q_mask[min(i0 + t, n_q - 1), 0]
        q0, q1, q2, q3 = qs[0], qs[1], qs[2], qs[3]
        k0, k1, k2, k3 = ks[0], ks[1], ks[2], ks[3]
        best = np.full(4, _BIG)
        sx = np.zeros(4)
        sy = np.zeros(4)
        cnt = np.zeros(4, np.int64)
        for s in range(0, n_c, BLOCK):
            e = min(s + BLOCK, n_c)
            m0 = m1 = m2 = m3 = _BIG
            for j in range(s, e):  # branch-free: vectorised
                cj = c[j]
                m0 = min(m0, np.int64(_popcount((q0 ^ cj) & k0)))
                m1 = min(m1, np.int64(_popcount((q1 ^ cj) & k1)))
                m2 = min(m2, np.int64(_popcount((q2 ^ cj) & k2)))
                m3 = min(m3, np.int64(_popcount((q3 ^ cj) & k3)))
            ms = (m0, m1, m2, m3)
            for t in range(4):
                m = ms[t]
                if m > best[t]:
                    continue
                if m < best[t]:  # a new minimum: the ties found so far no longer count
                    best[t] = m
                    sx[t] = 0.0
                    sy[t] = 0.0
                    cnt[t] = 0
                q = qs[t]
                k = ks[t]
                for j in range(s, e):  # codewords are visited in index order, as in the package
                    if np.int64(_popcount((q ^ c[j]) & k)) == m:
                        sx[t] += centres[j, 0]
                        sy[t] += centres[j, 1]
                        cnt[t] += 1
        for t in range(4):
            if i0 + t < n_q:
                est[i0 + t, 0] = sx[t] / cnt[t]
                est[i0 + t, 1] = sy[t] / cnt[t]
                best_d[i0 + t] = best[t]
                n_ties[i0 + t] = cnt[t]


def nearest_blocked(codes: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Same contract as ``ipsbook.methods.hamming.nearest``, one-word codes only."""
    if codes.dtype != np.uint64 or codes.ndim != 2 or codes.shape[1] != 1:
        raise ValueError(f"codes must be (n, 1) uint64 (<= 64 bits), got {codes.dtype} {codes.shape}")
    if queries.dtype != np.uint64 or queries.ndim != 2 or queries.shape[1] != 1:
        raise ValueError(f"queries must be (n, 1) uint64, got {queries.dtype} {queries.shape}")
    if len(codes) == 0:
        raise ValueError("the codebook is empty")
    idx = np.empty(len(queries), dtype=np.int64)
    best = np.empty(len(queries), dtype=np.int64)
    if len(queries):
        _nearest_blocked(np.ascontiguousarray(codes), np.ascontiguousarray(queries), idx, best)
    return idx, best


def search_ties_blocked(
    codes: np.ndarray, q_bits: np.ndarray, q_mask: np.ndarray, centres: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Same contract as ``ipsbook.methods.hamming.search_ties``, one-word codes only."""
    for name, arr in (("codes", codes), ("q_bits", q_bits), ("q_mask", q_mask)):
        if arr.dtype != np.uint64 or arr.ndim != 2 or arr.shape[1] != 1:
            raise ValueError(f"{name} must be (n, 1) uint64 (<= 64 bits), got "
                             f"{arr.dtype} {arr.shape}")
    centres = np.ascontiguousarray(centres, dtype=np.float64)
    if len(codes) == 0 or centres.shape != (len(codes), 2):
        raise ValueError(f"centres must be ({len(codes)}, 2) for a non-empty codebook, "
                         f"got {centres.shape}")
    n_q = len(q_bits)
    est = np.empty((n_q, 2))
    best = np.empty(n_q, dtype=np.int64)
    ties = np.empty(n_q, dtype=np.int64)
    if n_q:
        _search_ties_blocked(np.ascontiguousarray(codes), np.ascontiguousarray(q_bits),
                             np.ascontiguousarray(q_mask), centres, est, best, ties)
    return est, best, ties
