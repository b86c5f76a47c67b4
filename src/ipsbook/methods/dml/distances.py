"""Fingerprint-space distances of Study 1 (paper A), blockwise and vectorised.

Every function here takes fingerprints as the datasets store them (dBm, ``missing`` = 100 for
"not heard") and applies a representation of :mod:`.representations` itself, so that the heard
sets (Jaccard, PLGD) and the dBm values (LGD, PLGD) stay available next to the represented ones.

Metrics (:data:`METRICS`), on represented vectors ``x, y`` unless said otherwise:

========== ===================================================================================
euclidean  ``sqrt(sum (x-y)^2)``
manhattan  ``sum |x-y|`` (city block)
chebyshev  ``max |x-y|``
minkowski3 ``(sum |x-y|^3)^(1/3)``
cosine     ``1 - x.y / (|x||y|)``
correlation ``1 - pearson(x, y)`` over the AP coordinates
braycurtis ``sum |x-y| / sum |x+y|`` (scipy's definition)
canberra   ``sum |x-y| / (|x|+|y|)``, a 0/0 term counts 0 (scipy's definition)
sorensen   ``sum |x-y| / sum (|x|+|y|)``: Torres-Sospedra et al.'s (2015) Sørensen,
           ``sum |x-y| / sum (x+y)``, written with absolute values so that it is a distance on
           the negative dBm values too. Every representation here keeps all coordinates of
           one sign (raw <= 0, the others >= 0), where it equals Bray-Curtis exactly: the papers
           list both names, we keep both, and their rows of the study coincide (said in the
           chapter rather than hidden).
jaccard    ``1 - |H(x) & H(y)| / |H(x) | H(y)|`` on the *sets of heard APs* (representation
           has no effect)
lgd        log-Gaussian distance, on dBm (below)
plgd       penalised log-Gaussian distance, on dBm (below)
========== ===================================================================================

**LGD and PLGD** (Cramariuc, Huttunen & Lohan, "Clustering benefits in mobile-centric WiFi
positioning in multi-floor buildings", ICL-GNSS 2016, as used by the Tampere group and listed
among the fingerprinting metrics of Saccomanno et al. 2021)::

    LGD(x, y)  = - sum_k log max(N(x_k - y_k; 0, sigma^2), eps)
    PLGD(x, y) = LGD(x, y) + alpha * (phi(x, y) + phi(y, x))
    phi(x, y)  = sum over APs k heard in x with x_k > tau but not heard in y of (x_k - tau)

They are computed on dBm values with missing -> ``min_rss``, whatever ``representation`` is
asked for (their parameters are in dB), so their rows are the same in every representation.
Parameters (:class:`LGDParams`): ``sigma = 10 dB`` (the shadowing spread these papers assume
for indoor Wi-Fi), ``eps = 1e-4`` (the per-AP term saturates at ``-log eps``, reached for a
difference of about 35 dB), ``tau = -85 dBm`` and ``alpha = 0.1 per dB``. The formula is the
published one; the full texts of Cramariuc et al. and Saccomanno et al. could not be consulted
from this workplace, so ``eps``, ``tau`` and ``alpha`` are our documented values, not
necessarily theirs, and the penalty's form (dB above ``tau`` of an AP heard on one side only)
is our reading of "penalised". Change them in one place: ``LGDParams(...)``.

**All-missing fingerprints** (no AP heard) are rejected with a ``ValueError`` by every entry
point, for every metric: they carry no position information, cosine and correlation are
undefined on them (zero or constant vectors), and UJIIndoorLoc's training file has 76 of them.
Drop them first (``rss[heard(rss).any(axis=1)]``), as
:func:`ipsbook.methods.dml.scenarios.scenarios` does.

**Speed and memory.** A fingerprint hears few APs (about 18 of UJIIndoorLoc's 520), and every
metric but Chebyshev is a sum over APs (cosine and correlation through their dot products): an
AP missing on both sides contributes a constant, one heard on one side only a per-fingerprint
term, so only the APs heard on *both* sides need pairwise work (see the comment above
:func:`_separable`). This is exact, and on UJIIndoorLoc about 20x faster than
``scipy.spatial.distance.cdist``; Chebyshev (a maximum) uses torch's multi-threaded ``cdist``.
:func:`pairwise` returns a float32 ``len(A) x len(B)`` matrix (that much memory is the
caller's) and computes it in blocks of rows of ``A`` whose temporaries (a few float64
``rows x len(B)`` arrays) stay under ``max_memory`` bytes, 256 MiB by default;
:func:`pair_features` works on chunks of pairs under a quarter of that, and
:func:`iter_pairwise_features` yields every metric for blocks of all pairs (a meta-metric's
kNN). All show a tqdm bar on large inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
import torch

from ...progress import tqdm
from .representations import (
    NOT_DETECTED,
    REPRESENTATIONS,
    as_rss,
    default_min_rss,
    heard,
    represent,
)

__all__ = [
    "METRICS",
    "LGDParams",
    "check_metric",
    "check_representation",
    "iter_pairwise_features",
    "pair_features",
    "pairwise",
    "sample_pairs",
]

METRICS: tuple[str, ...] = (
    "euclidean",
    "manhattan",
    "chebyshev",
    "minkowski3",
    "cosine",
    "correlation",
    "braycurtis",
    "canberra",
    "sorensen",
    "jaccard",
    "lgd",
    "plgd",
)
MAX_MEMORY = 256 * 2**20  # bytes of temporaries per block
_PROGRESS_CELLS = 20_000_000  # show a bar above this many (row, column) distances


@dataclass(frozen=True)
class LGDParams:
    """Parameters of LGD/PLGD (see the module docstring for their sources)."""

    sigma: float = 10.0  # dB
    eps: float = 1e-4  # floor of the Gaussian density per AP
    tau: float = -85.0  # dBm; PLGD penalises APs heard above it on one side only
    alpha: float = 0.1  # PLGD penalty weight per dB

    def __post_init__(self) -> None:
        if not (self.sigma > 0 and 0 < self.eps < 1 and self.alpha >= 0):
            raise ValueError(f"invalid LGDParams {self}: need sigma > 0, 0 < eps < 1, alpha >= 0")

    @property
    def c(self) -> float:
        """``-log`` of the Gaussian density at zero difference, floored at ``-log eps``."""
        return min(math.log(self.sigma * math.sqrt(2 * math.pi)), self.cap)

    @property
    def cap(self) -> float:
        return -math.log(self.eps)

    def term(self, d: np.ndarray) -> np.ndarray:
        """Per-AP LGD term for dB differences ``d``."""
        return np.minimum(d * d / (2 * self.sigma**2) + self.c, self.cap)


def check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise ValueError(f"metric={metric!r} is not known; allowed: {', '.join(METRICS)}")
    return metric


def check_metrics(metrics: Sequence[str] | str) -> list[str]:
    """A metric name or a non-empty sequence of them, as a checked list."""
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    if not metrics:
        raise ValueError(f"metrics is empty; allowed names: {', '.join(METRICS)}")
    for m in metrics:
        check_metric(m)
    return metrics


def check_representation(representation: str) -> str:
    if representation not in REPRESENTATIONS:
        raise ValueError(
            f"representation={representation!r} is not known; allowed: {', '.join(REPRESENTATIONS)}"
        )
    return representation


def _check_pair(A: np.ndarray, B: np.ndarray, names: tuple[str, str]) -> tuple[np.ndarray, ...]:
    A = as_rss(A, names[0])
    B = as_rss(B, names[1])
    if A.shape[1] != B.shape[1]:
        raise ValueError(
            f"fingerprint widths differ: {names[0]} has {A.shape[1]} APs per fingerprint, "
            f"{names[1]} has {B.shape[1]}"
        )
    return A, B


def _reject_empty(H: np.ndarray, name: str) -> None:
    empty = np.flatnonzero(~H.any(axis=1))
    if empty.size:
        shown = ", ".join(map(str, empty[:10])) + (" ..." if empty.size > 10 else "")
        raise ValueError(
            f"{name} has {empty.size} fingerprint(s) with no AP heard (rows {shown}); distances "
            "to them are undefined or meaningless (cosine, correlation): drop them, e.g. "
            "rss[heard(rss).any(axis=1)]"
        )


class _CSC(NamedTuple):
    """Heard entries of a fingerprint block, grouped by AP (compressed sparse columns)."""

    indptr: np.ndarray  # (m + 1,)
    rows: np.ndarray  # row of each heard entry, AP by AP


def _csc(H: np.ndarray) -> _CSC:
    ap, row = np.nonzero(H.T)
    return _CSC(np.searchsorted(ap, np.arange(H.shape[1] + 1)), row)


class _Side:
    """One set of fingerprints, represented once, with the per-row quantities the blocks use."""

    def __init__(self, rss: np.ndarray, H: np.ndarray, representation: str, min_rss: float):
        self.rss, self.H, self.min_rss = rss, H, min_rss
        self.representation = representation
        self.X = _represent_masked(rss, H, representation, min_rss)
        # the represented value of a missing AP (the same on both sides of every pair)
        self.v = float(
            _represent_masked(
                np.array([[0.0, min_rss + 1.0]]), np.array([[False, True]]), representation, min_rss
            )[0, 0]
        )
        self._cache: dict = {}

    def __len__(self) -> int:
        return len(self.rss)

    @cached_property
    def R(self) -> np.ndarray:
        """dBm with missing -> min_rss (LGD/PLGD work here)."""
        if self.representation == "raw":
            return self.X
        return _represent_masked(self.rss, self.H, "raw", self.min_rss)

    @cached_property
    def n_heard(self) -> np.ndarray:
        return self.H.sum(axis=1).astype(np.float64)

    @cached_property
    def abs_sum(self) -> np.ndarray:
        return np.abs(self.X).sum(axis=1)

    @cached_property
    def mean(self) -> np.ndarray:
        return self.X.mean(axis=1)

    @cached_property
    def norm(self) -> np.ndarray:
        return np.sqrt(np.einsum("ij,ij->i", self.X, self.X))

    @cached_property
    def norm_c(self) -> np.ndarray:
        Xc = self.X - self.mean[:, None]
        return np.sqrt(np.einsum("ij,ij->i", Xc, Xc))

    @cached_property
    def sign(self) -> int:
        """+1 / -1 when every value is >= 0 / <= 0, else 0."""
        return 1 if (self.X >= 0).all() else -1 if (self.X <= 0).all() else 0

    @cached_property
    def csc(self) -> _CSC:
        return _csc(self.H)

    @cached_property
    def csr(self) -> _CSC:
        """Heard entries grouped by fingerprint (same layout, rows <-> APs)."""
        return _csc(self.H.T)

    def penalty_weights(self, p: LGDParams) -> np.ndarray:
        """PLGD weights: dB above ``tau`` of each heard AP (0 elsewhere)."""
        key = ("W", p.tau)
        if key not in self._cache:
            self._cache[key] = np.where(self.H, np.maximum(self.R - p.tau, 0.0), 0.0)
        return self._cache[key]

    def one_sided(self, name: str, g, V: np.ndarray, v: float) -> np.ndarray:
        """``g(x_k, v)`` on heard APs, 0 elsewhere (the term of an AP heard on this side only)."""
        key = ("U", name)
        if key not in self._cache:
            self._cache[key] = np.where(self.H, g(V, v), 0.0)
        return self._cache[key]

    def one_sided_sum(self, name: str, g, V: str, v: float) -> np.ndarray:
        """Per fingerprint, ``sum over heard APs of g(x_k, v) - g(v, v)``."""
        key = ("S", name)
        if key not in self._cache:
            gvv = float(g(np.float64(v), np.float64(v)))
            U = self.one_sided(name, g, getattr(self, V), v)
            self._cache[key] = (U - gvv * self.H).sum(axis=1)
        return self._cache[key]


def _represent_masked(rss: np.ndarray, H: np.ndarray, kind: str, min_rss: float) -> np.ndarray:
    # represent() with the heard mask already known: the marker value is irrelevant here.
    filled = np.where(H, rss, NOT_DETECTED)
    return represent(filled, kind, missing=NOT_DETECTED, min_rss=min_rss)


def _sides(
    A: np.ndarray,
    B: np.ndarray,
    representation: str,
    min_rss: float | None,
    missing: float | None,
    names: tuple[str, str] = ("A", "B"),
) -> tuple[_Side, _Side]:
    check_representation(representation)
    same = A is B
    A, B = _check_pair(A, B, names)
    HA, HB = heard(A, missing), heard(B, missing)
    _reject_empty(HA, names[0])
    _reject_empty(HB, names[1])
    if min_rss is None:
        min_rss = default_min_rss(A, B, missing=missing)
    a = _Side(A, HA, representation, float(min_rss))
    b = a if same else _Side(B, HB, representation, float(min_rss))
    return a, b


# --- pairwise (all rows of A x all rows of B) ------------------------------------------------
#
# A sum over APs of g(x_k, y_k), with v the represented value of a missing AP, splits into
#     m g(v, v) + sum_{k in H(x)} [g(x_k, v) - g(v, v)] + sum_{k in H(y)} [g(v, y_k) - g(v, v)]
#     + sum_{k in H(x) & H(y)} [g(x_k, y_k) - g(x_k, v) - g(v, y_k) + g(v, v)].
# The first three terms are per-row sums; the last runs only over APs heard on both sides, which
# is sparse (a fingerprint hears ~3% of UJIIndoorLoc's APs): for each AP we add a small dense
# (queries hearing it) x (database rows hearing it) matrix. This is exact (no cancellation),
# and far faster than dense cdist on these data.

_Sep = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _snap(out: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Zero the sums that are below their rounding error (identical fingerprints).

    The decomposition adds and subtracts the one-sided terms, so a pair at distance 0 comes out
    as +-1e-16 of their size, which a square or cube root would inflate to ~1e-6.
    """
    out[np.abs(out) <= _SNAP * scale] = 0.0
    return out


_SNAP = 1e-12  # >> (APs heard) x float64 epsilon


def _separable(
    a: _Side,
    ia: slice,
    b: _Side,
    name: str,
    g: _Sep,
    V: str = "X",
    v: float | None = None,
    snap: bool = False,
) -> np.ndarray:
    """``sum_k g(a_k, b_k)`` for rows ``ia`` of ``a`` against all of ``b`` (float64).

    ``snap``: for sums of non-negative terms that vanish on identical fingerprints (distances),
    set those within rounding error of 0 to exactly 0.
    """
    Va, Vb = getattr(a, V)[ia], getattr(b, V)
    if v is None:
        v = a.v
    gvv = float(g(np.float64(v), np.float64(v)))
    # every g here is symmetric, so one cached one-sided matrix serves either side
    Ua = a.one_sided(name, g, getattr(a, V), v)[ia]
    Ub = b.one_sided(name, g, Vb, v)
    Ha = a.H[ia]
    m = Ha.shape[1]
    sa, sb = a.one_sided_sum(name, g, V, v)[ia], b.one_sided_sum(name, g, V, v)
    out = (m * gvv + sa)[:, None] + sb[None, :]
    ca, cb = _csc(Ha), b.csc
    both = np.flatnonzero((np.diff(ca.indptr) > 0) & (np.diff(cb.indptr) > 0))
    for k in both:
        qi = ca.rows[ca.indptr[k] : ca.indptr[k + 1]]
        dj = cb.rows[cb.indptr[k] : cb.indptr[k + 1]]
        x, y = Va[qi, k][:, None], Vb[dj, k][None, :]
        out[np.ix_(qi, dj)] += g(x, y) - Ua[qi, k][:, None] - Ub[dj, k][None, :] + gvv
    if snap:
        scale = (m * abs(gvv) + np.abs(sa))[:, None] + np.abs(sb)[None, :]
        _snap(out, scale)
    return out


def _count_both(a: _Side, ia: slice, b: _Side) -> np.ndarray:
    """Number of APs heard in both fingerprints (rows ``ia`` of ``a`` x all of ``b``)."""
    ca, cb = _csc(a.H[ia]), b.csc
    out = np.zeros((ia.stop - ia.start, len(b)))
    both = np.flatnonzero((np.diff(ca.indptr) > 0) & (np.diff(cb.indptr) > 0))
    for k in both:
        qi = ca.rows[ca.indptr[k] : ca.indptr[k + 1]]
        dj = cb.rows[cb.indptr[k] : cb.indptr[k + 1]]
        out[np.ix_(qi, dj)] += 1.0
    return out


def _absdiff(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.abs(x - y)


def _sqdiff(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x - y) ** 2


def _cubediff(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.abs(x - y) ** 3


def _product(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x * y


def _abssum(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.abs(x + y)


def _canberra(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    den = np.abs(x) + np.abs(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, np.abs(x - y) / np.where(den > 0, den, 1.0), 0.0)


def _block(metric: str, a: _Side, ia: slice, b: _Side, p: LGDParams) -> np.ndarray:
    """Distances between rows ``ia`` of ``a`` and every row of ``b`` (float64)."""
    if metric == "euclidean":
        return np.sqrt(np.maximum(_separable(a, ia, b, "sq", _sqdiff, snap=True), 0.0))
    if metric in ("manhattan", "braycurtis", "sorensen"):
        num = _separable(a, ia, b, "abs", _absdiff, snap=True)
        if metric == "manhattan":
            return num
        if metric == "sorensen" or (a.sign != 0 and a.sign == b.sign):
            # same-sign data: sum |x + y| = sum |x| + sum |y|
            den = a.abs_sum[ia][:, None] + b.abs_sum[None, :]
        else:
            den = _separable(a, ia, b, "abssum", _abssum)
        return num / den
    if metric == "minkowski3":
        return np.cbrt(np.maximum(_separable(a, ia, b, "cube", _cubediff, snap=True), 0.0))
    if metric == "canberra":
        return np.maximum(_separable(a, ia, b, "canberra", _canberra, snap=True), 0.0)
    if metric == "chebyshev":
        # a maximum does not split over APs: torch's multi-threaded cdist (p = inf)
        with torch.no_grad():
            return torch.cdist(
                torch.from_numpy(a.X[ia]), torch.from_numpy(b.X), p=float("inf")
            ).numpy()
    if metric in ("cosine", "correlation"):
        dot = _separable(a, ia, b, "dot", _product)
        if metric == "correlation":
            dot = dot - a.X.shape[1] * a.mean[ia][:, None] * b.mean[None, :]
            na, nb = a.norm_c[ia], b.norm_c
        else:
            na, nb = a.norm[ia], b.norm
        return _angular(dot, na[:, None] * nb[None, :])
    if metric == "jaccard":
        inter = _count_both(a, ia, b)
        union = a.n_heard[ia][:, None] + b.n_heard[None, :] - inter
        return 1.0 - inter / union
    if metric in ("lgd", "plgd"):
        d = _separable(a, ia, b, f"lgd{p}", lambda x, y: p.term(x - y), V="R", v=a.min_rss)
        if metric == "plgd":
            Wa, Wb = a.penalty_weights(p)[ia], b.penalty_weights(p)
            inter_w_ab = _separable_weights(a, ia, b, Wa, Wb)
            d = d + p.alpha * (Wa.sum(axis=1)[:, None] + Wb.sum(axis=1)[None, :] - inter_w_ab)
        return d
    raise AssertionError(metric)  # pragma: no cover - check_metric ran before


def _angular(dot: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``1 - dot / den`` clipped to [0, 2]: cosine or correlation distance. Undefined (NaN, as in
    scipy's ``cdist``) where a side has zero norm: a zero vector (cosine) or a constant one
    (correlation), whose rounding residue in ``dot`` would otherwise give 0 or 2 at random."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, 1.0 - np.clip(dot / den, -1.0, 1.0), np.nan)


def _separable_weights(a: _Side, ia: slice, b: _Side, Wa: np.ndarray, Wb: np.ndarray):
    """``sum over APs heard on both sides of (Wa_k + Wb_k)`` (PLGD: penalties that do not apply)."""
    ca, cb = _csc(a.H[ia]), b.csc
    out = np.zeros((ia.stop - ia.start, len(b)))
    both = np.flatnonzero((np.diff(ca.indptr) > 0) & (np.diff(cb.indptr) > 0))
    for k in both:
        qi = ca.rows[ca.indptr[k] : ca.indptr[k + 1]]
        dj = cb.rows[cb.indptr[k] : cb.indptr[k + 1]]
        out[np.ix_(qi, dj)] += Wa[qi, k][:, None] + Wb[dj, k][None, :]
    return out


def _rows_per_block(n_b: int, budget: int) -> int:
    return max(1, min(4096, budget // (n_b * 8 * 4)))  # a few float64 (rows x n_b) temporaries


def _iter_pairwise(
    a: _Side,
    b: _Side,
    metric: str,
    *,
    block: int | None,
    params: LGDParams,
    max_memory: int = MAX_MEMORY,
    progress: bool | None = None,
    desc: str | None = None,
) -> Iterator[tuple[slice, np.ndarray]]:
    """``(rows, block)`` pairs covering ``a`` x ``b`` (used by :func:`pairwise` and kNN)."""
    check_metric(metric)
    n_a, n_b = len(a), len(b)
    rows = block or _rows_per_block(n_b, max_memory)
    if rows < 1:
        raise ValueError(f"block={block!r} must be a positive number of rows")
    if progress is None:
        progress = n_a * n_b >= _PROGRESS_CELLS
    starts = range(0, n_a, rows)
    for i0 in tqdm(starts, desc=desc or metric, disable=not progress, unit="block", leave=False):
        ia = slice(i0, min(i0 + rows, n_a))
        yield ia, _block(metric, a, ia, b, params)


def pairwise(
    A: np.ndarray,
    B: np.ndarray,
    metric: str = "euclidean",
    *,
    representation: str = "raw",
    block: int | None = None,
    min_rss: float | None = None,
    missing: float | None = NOT_DETECTED,
    lgd_params: LGDParams | None = None,
    max_memory: int = MAX_MEMORY,
    progress: bool | None = None,
) -> np.ndarray:
    """Distances between every fingerprint of ``A`` and every one of ``B``: float32 (nA, nB).

    ``A`` and ``B`` are dBm with ``missing`` for unheard APs; ``representation`` (see
    :mod:`.representations`) is applied with one ``min_rss`` for both (default
    ``min(observed in A and B) - 1``). ``block`` rows of ``A`` are done at a time (default:
    as many as keep temporaries under ``max_memory`` bytes); a tqdm bar shows for large inputs
    (``progress=None``) or when asked.
    """
    check_metric(metric)
    a, b = _sides(A, B, representation, min_rss, missing)
    out = np.empty((len(a), len(b)), dtype=np.float32)
    p = lgd_params or LGDParams()
    for ia, d in _iter_pairwise(
        a, b, metric, block=block, params=p, max_memory=max_memory, progress=progress
    ):
        out[ia] = d
    return out


def iter_pairwise_features(
    A: np.ndarray,
    B: np.ndarray,
    metrics: Sequence[str] | str = METRICS,
    representation: str = "raw",
    *,
    min_rss: float | None = None,
    missing: float | None = NOT_DETECTED,
    lgd_params: LGDParams | None = None,
    block: int | None = None,
    max_memory: int = MAX_MEMORY,
    progress: bool | None = None,
) -> Iterator[tuple[slice, np.ndarray]]:
    """Every metric between rows of ``A`` and all of ``B``, block by block.

    Yields ``(rows, F)`` with ``F`` float32 ``(len(rows), len(B), len(metrics))``: the
    :func:`pair_features` of all those pairs, computed with the fast all-pairs kernels (a
    meta-metric's ``distance_fn`` for kNN evaluates its expression on each ``F``). Blocks hold
    ``F`` plus the temporaries under ``max_memory`` bytes.
    """
    metrics = check_metrics(metrics)
    a, b = _sides(A, B, representation, min_rss, missing)
    p = lgd_params or LGDParams()
    rows = block or max(1, min(4096, max_memory // (len(b) * (8 * 4 + 4 * len(metrics)))))
    if progress is None:
        progress = len(a) * len(b) * len(metrics) >= _PROGRESS_CELLS
    for i0 in tqdm(range(0, len(a), rows), desc="features", disable=not progress, leave=False):
        ia = slice(i0, min(i0 + rows, len(a)))
        F = np.empty((ia.stop - ia.start, len(b), len(metrics)), dtype=np.float32)
        for c, m in enumerate(metrics):
            F[:, :, c] = _block(m, a, ia, b, p)
        yield ia, F


# --- given pairs ----------------------------------------------------------------------------


def _expand(csr: _CSC, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each r, the heard APs of fingerprint ``rows[r]``: (r repeated, AP index) arrays."""
    starts = csr.indptr[rows]
    counts = csr.indptr[rows + 1] - starts
    rep = np.repeat(np.arange(rows.size), counts)
    offset = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return rep, csr.rows[np.arange(rep.size) + offset]


class _Pairs:
    """Pairs ``(a[i[r]], b[j[r]])`` with the APs heard in both, for the sparse decomposition."""

    def __init__(self, a: _Side, i: np.ndarray, b: _Side, j: np.ndarray):
        self.a, self.i, self.b, self.j = a, i, b, j
        self.rep_a, self.k_a = _expand(a.csr, i)
        self.both_a = b.H[j[self.rep_a], self.k_a]
        self.r = self.rep_a[self.both_a]  # pair of each AP heard on both sides
        self.k = self.k_a[self.both_a]  # and that AP
        self.ia, self.jb = i[self.r], j[self.r]

    def count_both(self) -> np.ndarray:
        return np.bincount(self.r, minlength=self.i.size).astype(np.float64)

    def separable(
        self, name: str, g: _Sep, V: str = "X", v: float | None = None, snap: bool = False
    ) -> np.ndarray:
        """``sum_k g(x_k, y_k)`` per pair (see the block version, :func:`_separable`)."""
        a, b = self.a, self.b
        Va, Vb = getattr(a, V), getattr(b, V)
        v = a.v if v is None else v
        gvv = float(g(np.float64(v), np.float64(v)))
        sa, sb = a.one_sided_sum(name, g, V, v), b.one_sided_sum(name, g, V, v)
        Ua, Ub = a.one_sided(name, g, Va, v), b.one_sided(name, g, Vb, v)
        corr = (
            g(Va[self.ia, self.k], Vb[self.jb, self.k])
            - Ua[self.ia, self.k]
            - Ub[self.jb, self.k]
            + gvv
        )
        m = a.X.shape[1]
        out = m * gvv + sa[self.i] + sb[self.j]
        out += np.bincount(self.r, weights=corr, minlength=self.i.size)
        if snap:
            _snap(out, m * abs(gvv) + np.abs(sa[self.i]) + np.abs(sb[self.j]))
        return out

    def chebyshev(self) -> np.ndarray:
        a, b = self.a, self.b
        out = np.zeros(self.i.size)  # an AP missing on both sides contributes |v - v| = 0
        xa = a.X[self.i[self.rep_a], self.k_a]
        ya = np.where(self.both_a, b.X[self.j[self.rep_a], self.k_a], b.v)
        np.maximum.at(out, self.rep_a, np.abs(xa - ya))
        rep_b, k_b = _expand(b.csr, self.j)
        yb = b.X[self.j[rep_b], k_b]
        a_heard = a.H[self.i[rep_b], k_b]
        xb = np.where(a_heard, a.X[self.i[rep_b], k_b], a.v)
        np.maximum.at(out, rep_b, np.abs(xb - yb))
        return out


def _pairs_chunk(metrics: Sequence[str], pr: _Pairs, p: LGDParams) -> list[np.ndarray]:
    """Each metric for the pairs of ``pr`` (float64), sharing the sums they have in common."""
    a, b, i, j = pr.a, pr.b, pr.i, pr.j
    memo: dict[str, np.ndarray] = {}

    def sep(name: str, g: _Sep, **kw) -> np.ndarray:
        if name not in memo:
            memo[name] = pr.separable(name, g, **kw)
        return memo[name]

    out = []
    for metric in metrics:
        if metric == "euclidean":
            d = np.sqrt(np.maximum(sep("sq", _sqdiff, snap=True), 0.0))
        elif metric == "manhattan":
            d = sep("abs", _absdiff, snap=True)
        elif metric in ("braycurtis", "sorensen"):
            if metric == "sorensen" or (a.sign != 0 and a.sign == b.sign):
                den = a.abs_sum[i] + b.abs_sum[j]
            else:
                den = sep("abssum", _abssum)
            d = sep("abs", _absdiff, snap=True) / den
        elif metric == "minkowski3":
            d = np.cbrt(np.maximum(sep("cube", _cubediff, snap=True), 0.0))
        elif metric == "canberra":
            d = np.maximum(sep("canberra", _canberra, snap=True), 0.0)
        elif metric == "chebyshev":
            d = pr.chebyshev()
        elif metric in ("cosine", "correlation"):
            dot = sep("dot", _product)
            if metric == "correlation":
                dot = dot - a.X.shape[1] * a.mean[i] * b.mean[j]
                den = a.norm_c[i] * b.norm_c[j]
            else:
                den = a.norm[i] * b.norm[j]
            d = _angular(dot, den)
        elif metric == "jaccard":
            inter = pr.count_both()
            d = 1.0 - inter / (a.n_heard[i] + b.n_heard[j] - inter)
        elif metric in ("lgd", "plgd"):
            d = sep(f"lgd{p}", lambda x, y: p.term(x - y), V="R", v=a.min_rss)
            if metric == "plgd":
                Wa, Wb = a.penalty_weights(p), b.penalty_weights(p)
                shared = np.bincount(
                    pr.r, weights=Wa[pr.ia, pr.k] + Wb[pr.jb, pr.k], minlength=i.size
                )
                d = d + p.alpha * (Wa.sum(axis=1)[i] + Wb.sum(axis=1)[j] - shared)
        else:  # pragma: no cover - checked before
            raise AssertionError(metric)
        out.append(d)
    return out


def pair_features(
    A: np.ndarray,
    B: np.ndarray,
    metrics: Sequence[str] | str = METRICS,
    representation: str = "raw",
    *,
    pairs_i: np.ndarray | None = None,
    pairs_j: np.ndarray | None = None,
    min_rss: float | None = None,
    missing: float | None = NOT_DETECTED,
    lgd_params: LGDParams | None = None,
    max_memory: int = MAX_MEMORY // 4,
    progress: bool | None = False,
) -> np.ndarray:
    """Metric values for pairs of fingerprints: float32 ``(n_pairs, len(metrics))``.

    Pair ``r`` is ``(A[pairs_i[r]], B[pairs_j[r]])``; without ``pairs_i``/``pairs_j``, ``A``
    and ``B`` must have as many rows and pair ``r`` is ``(A[r], B[r])``. This is the feature
    matrix of the meta-metric (one column per metric, in the order given). Chunks of pairs keep
    temporaries under ``max_memory`` bytes.
    """
    metrics = check_metrics(metrics)
    a, b = _sides(A, B, representation, min_rss, missing)
    if (pairs_i is None) != (pairs_j is None):
        raise ValueError("give both pairs_i and pairs_j, or neither")
    if pairs_i is None:
        if len(a) != len(b):
            raise ValueError(
                "without pairs_i/pairs_j, A and B must have as many rows; "
                f"got {len(a)} and {len(b)}"
            )
        pairs_i = pairs_j = np.arange(len(a))
    pi, pj = np.asarray(pairs_i), np.asarray(pairs_j)
    if pi.shape != pj.shape or pi.ndim != 1:
        raise ValueError(
            f"pairs_i and pairs_j must be 1-D of one length; got {pi.shape}, {pj.shape}"
        )
    if pi.size and (
        not np.issubdtype(pi.dtype, np.integer) or not np.issubdtype(pj.dtype, np.integer)
    ):
        raise ValueError("pairs_i and pairs_j must be integer indices")
    if pi.size and (pi.min() < 0 or pi.max() >= len(a) or pj.min() < 0 or pj.max() >= len(b)):
        raise ValueError(f"pair indices out of range (A has {len(a)} rows, B has {len(b)})")
    p = lgd_params or LGDParams()
    out = np.empty((pi.size, len(metrics)), dtype=np.float32)
    # ~ a dozen 8-byte temporaries per heard AP of each pair
    heard_per_pair = float(a.n_heard.mean() + b.n_heard.mean())
    step = max(1024, int(max_memory // (heard_per_pair * 8 * 12)))
    for r0 in tqdm(range(0, pi.size, step), disable=not progress, desc="pairs", leave=False):
        sl = slice(r0, r0 + step)
        chunk = _Pairs(a, pi[sl].astype(np.int64), b, pj[sl].astype(np.int64))
        for c, d in enumerate(_pairs_chunk(metrics, chunk, p)):
            out[sl, c] = d
    return out


def sample_pairs(
    n: int, max_pairs: int, rng: np.random.Generator | int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Unordered pairs ``(i, j)``, ``i < j < n``, drawn without replacement.

    All ``n(n-1)/2`` pairs when ``max_pairs`` covers them, else ``max_pairs`` of them uniformly
    at random (``rng``: a seed or a Generator); sorted by ``(i, j)``. int64 arrays.
    """
    if n < 0 or max_pairs < 0:
        raise ValueError(f"n={n} and max_pairs={max_pairs} must be >= 0")
    total = n * (n - 1) // 2
    if max_pairs >= total:
        i, j = np.triu_indices(n, k=1)
        return i.astype(np.int64), j.astype(np.int64)
    gen = np.random.default_rng(rng)
    k = np.sort(gen.choice(total, size=max_pairs, replace=False)).astype(np.int64)
    # Unrank k in the row-major upper triangle: row i starts at S(i) = i(2n - i - 1)/2.
    b = 2 * n - 1
    i = np.floor((b - np.sqrt(float(b) ** 2 - 8.0 * k)) / 2).astype(np.int64)
    i = np.clip(i, 0, n - 2)

    def start(r: np.ndarray) -> np.ndarray:
        return r * (2 * n - r - 1) // 2

    for _ in range(3):  # fix the float rounding of sqrt, if any
        i = np.where(start(i) > k, i - 1, i)
        i = np.where(start(i + 1) <= k, i + 1, i)
    j = k - start(i) + i + 1
    return i, j
