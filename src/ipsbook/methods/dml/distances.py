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
Drop them first (``heard(rss).any(axis=1)``); :func:`ipsbook.methods.dml.scenarios.scenarios`
does so and says how many.

**Memory.** :func:`pairwise` returns a float32 ``len(A) x len(B)`` matrix (that much is the
caller's) and works on blocks of rows of ``A`` whose temporaries stay under ``max_memory``
bytes (256 MiB by default; LGD/PLGD also split ``B``). :func:`pair_features` works on chunks of
pairs under the same bound. Euclidean, cosine and correlation use matrix products (BLAS,
float64, centred first for accuracy); Manhattan, Chebyshev, Minkowski, Bray-Curtis and Canberra
use ``scipy.spatial.distance.cdist``; Sørensen, Jaccard, LGD and PLGD are NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.spatial.distance import cdist
from tqdm.auto import tqdm

from .representations import (
    NOT_DETECTED,
    REPRESENTATIONS,
    as_rss,
    default_min_rss,
    heard,
    represent,
)

__all__ = [
    "LGDParams",
    "METRICS",
    "check_metric",
    "check_representation",
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
_CDIST = {
    "manhattan": ("cityblock", {}),
    "chebyshev": ("chebyshev", {}),
    "minkowski3": ("minkowski", {"p": 3}),
    "braycurtis": ("braycurtis", {}),
    "canberra": ("canberra", {}),
}
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


def check_representation(representation: str) -> str:
    if representation not in REPRESENTATIONS:
        raise ValueError(
            f"representation={representation!r} is not known; allowed: "
            f"{', '.join(REPRESENTATIONS)}"
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


class _Side:
    """One set of fingerprints, represented once, with the per-row quantities the blocks use."""

    def __init__(self, rss: np.ndarray, H: np.ndarray, representation: str, min_rss: float):
        self.rss, self.H, self.min_rss = rss, H, min_rss
        self.representation = representation
        self.X = _represent_masked(rss, H, representation, min_rss)
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
    def Hf(self) -> np.ndarray:
        return self.H.astype(np.float64)

    @cached_property
    def n_heard(self) -> np.ndarray:
        return self.H.sum(axis=1).astype(np.float64)

    @cached_property
    def abs_sum(self) -> np.ndarray:
        return np.abs(self.X).sum(axis=1)

    @cached_property
    def Xc(self) -> np.ndarray:
        """Rows centred over their APs (correlation)."""
        return self.X - self.X.mean(axis=1, keepdims=True)

    @cached_property
    def norm(self) -> np.ndarray:
        return np.sqrt(np.einsum("ij,ij->i", self.X, self.X))

    @cached_property
    def norm_c(self) -> np.ndarray:
        return np.sqrt(np.einsum("ij,ij->i", self.Xc, self.Xc))

    @cached_property
    def mu(self) -> np.ndarray:
        """Column means: euclidean is computed on centred columns (less cancellation)."""
        return self.X.mean(axis=0)

    @cached_property
    def Y(self) -> np.ndarray:
        return self.X - self.mu

    @cached_property
    def sqY(self) -> np.ndarray:
        return np.einsum("ij,ij->i", self.Y, self.Y)

    def penalty_weights(self, p: LGDParams) -> np.ndarray:
        """PLGD weights: dB above ``tau`` of each heard AP (0 elsewhere)."""
        key = ("W", p.tau)
        if key not in self._cache:
            self._cache[key] = np.where(self.H, np.maximum(self.R - p.tau, 0.0), 0.0)
        return self._cache[key]

    def lgd_unheard_terms(self, p: LGDParams) -> np.ndarray:
        """``term(x_k - min_rss)`` on heard APs, ``c`` (the both-missing term) elsewhere."""
        key = ("U", p)
        if key not in self._cache:
            self._cache[key] = np.where(self.H, p.term(self.R - self.min_rss), p.c)
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


def _block(metric: str, a: _Side, ia: slice, b: _Side, p: LGDParams, budget: int) -> np.ndarray:
    """Distances between rows ``ia`` of ``a`` and every row of ``b`` (float64)."""
    Xa = a.X[ia]
    if metric in _CDIST:
        name, kw = _CDIST[metric]
        return cdist(Xa, b.X, name, **kw)
    if metric == "euclidean":
        Ya = Xa - b.mu
        sq = np.einsum("ij,ij->i", Ya, Ya)[:, None] + b.sqY[None, :] - 2.0 * (Ya @ b.Y.T)
        return np.sqrt(np.maximum(sq, 0.0))
    if metric in ("cosine", "correlation"):
        centred = metric == "correlation"
        Ma, Mb = (a.Xc[ia], b.Xc) if centred else (Xa, b.X)
        na, nb = (a.norm_c[ia], b.norm_c) if centred else (a.norm[ia], b.norm)
        with np.errstate(divide="ignore", invalid="ignore"):
            sim = (Ma @ Mb.T) / (na[:, None] * nb[None, :])
        return 1.0 - np.clip(sim, -1.0, 1.0)
    if metric == "sorensen":
        num = cdist(Xa, b.X, "cityblock")
        return num / (a.abs_sum[ia][:, None] + b.abs_sum[None, :])
    if metric == "jaccard":
        inter = a.Hf[ia] @ b.Hf.T
        union = a.n_heard[ia][:, None] + b.n_heard[None, :] - inter
        return 1.0 - inter / union
    if metric in ("lgd", "plgd"):
        d = _lgd_block(a, ia, b, p, budget)
        if metric == "plgd":
            Wa, Wb = a.penalty_weights(p)[ia], b.penalty_weights(p)
            phi_ab = Wa.sum(axis=1)[:, None] - Wa @ b.Hf.T
            phi_ba = Wb.sum(axis=1)[None, :] - a.Hf[ia] @ Wb.T
            d = d + p.alpha * (phi_ab + phi_ba)
        return d
    raise AssertionError(metric)  # pragma: no cover - check_metric ran before


def _lgd_block(a: _Side, ia: slice, b: _Side, p: LGDParams, budget: int) -> np.ndarray:
    """LGD of rows ``ia`` of ``a`` against ``b``, via the heard-set decomposition.

    sum_k t(a_k, b_k) = m c + sum_{H_a}(u_a - c) + sum_{H_b}(u_b - c)
                        + sum_{H_a & H_b}(t(a_k, b_k) - u_a - u_b + c),
    where u = t(x, min_rss) is the term of an AP heard on one side only; only the last sum
    needs the (rows x B x APs) tensor, and only over the APs heard somewhere in the block.
    """
    c = p.c
    Ua, Ub = a.lgd_unheard_terms(p)[ia], b.lgd_unheard_terms(p)
    m = a.X.shape[1]
    base = m * c + (Ua - c).sum(axis=1)[:, None] + (Ub - c).sum(axis=1)[None, :]
    Ha = a.H[ia]
    cols = np.flatnonzero(Ha.any(axis=0))
    if cols.size == 0:  # pragma: no cover - empty rows were rejected
        return base
    Ra = a.R[ia][:, cols].astype(np.float32)
    Rb = b.R[:, cols].astype(np.float32)
    ua = np.where(Ha[:, cols], Ua[:, cols], 0.0).astype(np.float32)
    ub = Ub[:, cols].astype(np.float32)
    Hb = b.H[:, cols]
    Haf = Ha[:, cols]
    out = np.empty((Ra.shape[0], len(b)), dtype=np.float64)
    step = max(1, budget // max(1, Ra.shape[0] * cols.size * 4 * 4))
    s2 = np.float32(2 * p.sigma**2)
    for j0 in range(0, len(b), step):
        jb = slice(j0, j0 + step)
        diff = Ra[:, None, :] - Rb[None, jb, :]
        t = np.minimum(diff * diff / s2 + np.float32(c), np.float32(p.cap))
        t -= ua[:, None, :] + ub[None, jb, :] - np.float32(c)
        t *= Haf[:, None, :] & Hb[None, jb, :]
        out[:, jb] = t.sum(axis=2, dtype=np.float64)
    return base + out


def _rows_per_block(metric: str, n_b: int, m: int, budget: int) -> int:
    per_row = n_b * 8 * 4  # a few float64 temporaries of one row of the block
    if metric in ("lgd", "plgd"):
        # few rows: the APs heard somewhere in the block (the tensor's last axis) stay few
        return max(1, min(16, budget // (per_row + n_b * 8 * 2)))
    return max(1, min(4096, budget // per_row))


def iter_pairwise(
    a: _Side, b: _Side, metric: str, *, block: int | None, params: LGDParams,
    max_memory: int = MAX_MEMORY, progress: bool | None = None, desc: str | None = None,
) -> Iterator[tuple[slice, np.ndarray]]:
    """``(rows, block)`` pairs covering ``a`` x ``b`` (used by :func:`pairwise` and kNN)."""
    check_metric(metric)
    n_a, n_b = len(a), len(b)
    rows = block or _rows_per_block(metric, n_b, a.X.shape[1], max_memory)
    if rows < 1:
        raise ValueError(f"block={block!r} must be a positive number of rows")
    if progress is None:
        progress = n_a * n_b >= _PROGRESS_CELLS
    starts = range(0, n_a, rows)
    for i0 in tqdm(starts, desc=desc or metric, disable=not progress, unit="block", leave=False):
        ia = slice(i0, min(i0 + rows, n_a))
        yield ia, _block(metric, a, ia, b, params, max_memory)


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
    for ia, d in iter_pairwise(a, b, metric, block=block, params=p, max_memory=max_memory,
                               progress=progress):
        out[ia] = d
    return out


# --- given pairs ----------------------------------------------------------------------------


def _rowwise(metric: str, a: _Side, i: np.ndarray, b: _Side, j: np.ndarray, p: LGDParams):
    """Distance between a[i[r]] and b[j[r]] for each r (float64)."""
    if metric == "jaccard":
        Ha, Hb = a.H[i], b.H[j]
        inter = (Ha & Hb).sum(axis=1)
        union = (Ha | Hb).sum(axis=1)
        return 1.0 - inter / union
    if metric in ("lgd", "plgd"):
        Ra, Rb = a.R[i], b.R[j]
        d = p.term(Ra - Rb).sum(axis=1)
        if metric == "plgd":
            Wa, Wb = a.penalty_weights(p)[i], b.penalty_weights(p)[j]
            d = d + p.alpha * ((Wa * ~b.H[j]).sum(axis=1) + (Wb * ~a.H[i]).sum(axis=1))
        return d
    x, y = a.X[i], b.X[j]
    diff = np.abs(x - y)
    if metric == "euclidean":
        return np.sqrt(np.einsum("ij,ij->i", diff, diff))
    if metric == "manhattan":
        return diff.sum(axis=1)
    if metric == "chebyshev":
        return diff.max(axis=1)
    if metric == "minkowski3":
        return np.cbrt((diff**3).sum(axis=1))
    if metric in ("cosine", "correlation"):
        if metric == "correlation":
            x = x - x.mean(axis=1, keepdims=True)
            y = y - y.mean(axis=1, keepdims=True)
        num = np.einsum("ij,ij->i", x, y)
        den = np.sqrt(np.einsum("ij,ij->i", x, x) * np.einsum("ij,ij->i", y, y))
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 - np.clip(num / den, -1.0, 1.0)
    if metric == "braycurtis":
        return diff.sum(axis=1) / np.abs(x + y).sum(axis=1)
    if metric == "sorensen":
        return diff.sum(axis=1) / (np.abs(x) + np.abs(y)).sum(axis=1)
    if metric == "canberra":
        den = np.abs(x) + np.abs(y)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den > 0, diff / np.where(den > 0, den, 1.0), 0.0).sum(axis=1)
    raise AssertionError(metric)  # pragma: no cover


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
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    if not metrics:
        raise ValueError(f"metrics is empty; allowed names: {', '.join(METRICS)}")
    for m in metrics:
        check_metric(m)
    a, b = _sides(A, B, representation, min_rss, missing)
    if (pairs_i is None) != (pairs_j is None):
        raise ValueError("give both pairs_i and pairs_j, or neither")
    if pairs_i is None:
        if len(a) != len(b):
            raise ValueError(
                f"without pairs_i/pairs_j, A and B must have as many rows; got {len(a)} and {len(b)}"
            )
        pairs_i = pairs_j = np.arange(len(a))
    pi, pj = np.asarray(pairs_i), np.asarray(pairs_j)
    if pi.shape != pj.shape or pi.ndim != 1:
        raise ValueError(f"pairs_i and pairs_j must be 1-D of one length; got {pi.shape}, {pj.shape}")
    if pi.size and (not np.issubdtype(pi.dtype, np.integer) or not np.issubdtype(pj.dtype, np.integer)):
        raise ValueError("pairs_i and pairs_j must be integer indices")
    if pi.size and (pi.min() < 0 or pi.max() >= len(a) or pj.min() < 0 or pj.max() >= len(b)):
        raise ValueError(f"pair indices out of range (A has {len(a)} rows, B has {len(b)})")
    p = lgd_params or LGDParams()
    out = np.empty((pi.size, len(metrics)), dtype=np.float32)
    step = max(256, max_memory // (a.X.shape[1] * 8 * 6))
    for r0 in tqdm(range(0, pi.size, step), disable=not progress, desc="pairs", leave=False):
        sl = slice(r0, r0 + step)
        for c, m in enumerate(metrics):
            out[sl, c] = _rowwise(m, a, pi[sl], b, pj[sl], p)
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
