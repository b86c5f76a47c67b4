"""Bit-packed Hamming search with erasures: the fast path of binary fingerprinting (paper D).

Codes are rows of 0/1 bits packed into ``uint64`` words (:func:`pack_bits`). A query is a code
plus a mask whose 0 bits are erasures (paper D's neutral value): they are left out of the
distance, ``popcount((q XOR c) AND m)``. :func:`search_ties` returns, per query, the average
position of *all* codewords at minimum distance (paper D, eq. 6) in one pass over the codebook;
:func:`nearest` is plain 1-NN (first index of the minimum), the operation faiss offers.
The kernels are compiled with numba (LLVM's ``ctpop``, one POPCNT per word) and run in
parallel over queries; :func:`distances_dense` is the readable NumPy reference the tests hold
them to.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange, types
from numba.extending import intrinsic


@intrinsic
def _popcount(typingctx, x):
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack an ``(n, n_bits)`` array of 0/1 (or bool) into ``(n, ceil(n_bits / 64))`` uint64."""
    bits = np.asarray(bits)
    if bits.ndim != 2:
        raise ValueError(f"bits must be a 2-D (n, n_bits) array, got shape {bits.shape}")
    n, n_bits = bits.shape
    n_words = max(1, -(-n_bits // 64))
    padded = np.zeros((n, n_words * 64), dtype=np.uint8)
    padded[:, :n_bits] = bits != 0
    packed = np.packbits(padded, axis=1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64, copy=False)


def unpack_bits(packed: np.ndarray, n_bits: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: ``(n, n_bits)`` uint8 of 0/1."""
    as_bytes = np.ascontiguousarray(packed.astype("<u8")).view(np.uint8)
    return np.unpackbits(as_bytes, axis=1, bitorder="little")[:, :n_bits]


def distances_dense(q_bits: np.ndarray, q_mask: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Reference Hamming distances with erasures, ``(n_queries, n_codes)``, from unpacked bits."""
    q = np.asarray(q_bits, dtype=np.int64)
    m = np.asarray(q_mask, dtype=np.int64)
    c = np.asarray(codes, dtype=np.int64)
    # Bit i differs and counts iff m_i * (q_i (1 - c_i) + (1 - q_i) c_i) = 1.
    return (m * q) @ (1 - c).T + (m * (1 - q)) @ c.T


@numba.njit(parallel=True, cache=True, nogil=True)
def _search_ties(codes, q_bits, q_mask, centres, est, best_d, n_ties):  # > 64-bit codes
    n_q, n_w = q_bits.shape
    n_c = codes.shape[0]
    for i in prange(n_q):
        best = np.int64(1) << 62
        sx = 0.0
        sy = 0.0
        cnt = 0
        for j in range(n_c):
            d = np.int64(0)
            for k in range(n_w):
                d += _popcount((q_bits[i, k] ^ codes[j, k]) & q_mask[i, k])
            if d < best:
                best = d
                sx = centres[j, 0]
                sy = centres[j, 1]
                cnt = 1
            elif d == best:
                sx += centres[j, 0]
                sy += centres[j, 1]
                cnt += 1
        est[i, 0] = sx / cnt
        est[i, 1] = sy / cnt
        best_d[i] = best
        n_ties[i] = cnt


# One-word kernels (codes of at most 64 bits, the common case). A running (best, argmin) pair
# updated with a branch per codeword stops LLVM from vectorising the loop, so these split the
# codebook into blocks of _BLOCK codewords and first take, per block, only the minimum distance:
# a branch-free min-reduction that compiles to vector POPCNT + MIN (AVX-512 VPOPCNTDQ where the
# CPU has it, AVX2 otherwise). Only a block whose minimum beats (or, for ties, equals) the running
# best is scanned again, in index order, which keeps the results identical to the plain
# kernels': first index of the minimum, the same tie sets summed in the same order. Four
# queries share each pass, so each codeword is loaded once per four queries. Measured on
# 100,000 cells x 10,000 queries (benchmarks/): 2.7x faster 1-NN and 3.7x faster tie search
# than the branchy loop (measured when this replaced it; benchmarks/ now times only this one).
_BLOCK = 128
_BIG = np.int64(1) << 62


@numba.njit(parallel=True, cache=True, nogil=True)
def _nearest1(codes, queries, idx, best_d):
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
        for s in range(0, n_c, _BLOCK):
            e = min(s + _BLOCK, n_c)
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
                if m < best[t]:  # rare: the first index of the new minimum in this block
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
def _search_ties1(codes, q_bits, q_mask, centres, est, best_d, n_ties):
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
        for s in range(0, n_c, _BLOCK):
            e = min(s + _BLOCK, n_c)
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
                for j in range(s, e):
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


@numba.njit(parallel=True, cache=True, nogil=True)
def _nearest_multiword(codes, queries, idx, best_d):
    n_q, n_w = queries.shape
    n_c = codes.shape[0]
    for i in prange(n_q):
        best = np.int64(1) << 62
        arg = 0
        for j in range(n_c):
            d = np.int64(0)
            for k in range(n_w):
                d += _popcount(queries[i, k] ^ codes[j, k])
            if d < best:
                best = d
                arg = j
        idx[i] = arg
        best_d[i] = best


def _check_packed(name: str, arr: np.ndarray, n_words: int | None = None) -> np.ndarray:
    arr = np.ascontiguousarray(arr)
    if arr.dtype != np.uint64 or arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D uint64 array from pack_bits(), got {arr.dtype} "
                         f"with shape {arr.shape}")
    if n_words is not None and arr.shape[1] != n_words:
        raise ValueError(f"{name} has {arr.shape[1]} words per code, the codebook {n_words}")
    return arr


def search_ties(
    codes: np.ndarray, q_bits: np.ndarray, q_mask: np.ndarray, centres: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eq. 6 of paper D on packed codes: mean centre of all codewords at minimum distance.

    Returns ``(estimates (n, 2), min_distance (n,), n_ties (n,))``.
    """
    codes = _check_packed("codes", codes)
    n_w = codes.shape[1]
    q_bits = _check_packed("q_bits", q_bits, n_w)
    q_mask = _check_packed("q_mask", q_mask, n_w)
    centres = np.ascontiguousarray(centres, dtype=np.float64)
    if len(codes) == 0 or centres.shape != (len(codes), 2):
        raise ValueError(f"centres must be ({len(codes)}, 2) for a non-empty codebook, "
                         f"got {centres.shape}")
    n_q = len(q_bits)
    est = np.empty((n_q, 2))
    best = np.empty(n_q, dtype=np.int64)
    ties = np.empty(n_q, dtype=np.int64)
    if n_q:
        kernel = _search_ties1 if n_w == 1 else _search_ties
        kernel(codes, q_bits, q_mask, centres, est, best, ties)
    return est, best, ties


def nearest(codes: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plain 1-NN Hamming search on packed codes: ``(index of the first minimum, distance)``."""
    codes = _check_packed("codes", codes)
    queries = _check_packed("queries", queries, codes.shape[1])
    if len(codes) == 0:
        raise ValueError("the codebook is empty")
    idx = np.empty(len(queries), dtype=np.int64)
    best = np.empty(len(queries), dtype=np.int64)
    if len(queries):
        kernel = _nearest1 if codes.shape[1] == 1 else _nearest_multiword
        kernel(codes, queries, idx, best)
    return idx, best
