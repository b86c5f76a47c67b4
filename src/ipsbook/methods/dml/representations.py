"""RSS data representations of Torres-Sospedra et al. (2015), used by every Study 1 metric.

Source: J. Torres-Sospedra, R. Montoliu, S. Trilles, O. Belmonte, J. Huerta, "Comprehensive
analysis of distance and similarity measures for Wi-Fi fingerprinting indoor positioning
systems", Expert Systems with Applications 42(23):9263-9278, 2015 (doi:10.1016/j.eswa.2015.08.013),
and the authors' MIT-licensed reference code shipped with the Tampere dataset
(``UJI_SW/knn_ips.m``, ``datarepPositive.m``, ``datarepExponential.m``, ``datarepPowed.m``).

What we follow, and what we chose:

* **Missing APs.** The files mark "not detected" with ``+100``. ``knn_ips.m`` replaces it, when
  no value is given, by ``min(observed RSS) - 1`` over the data it is given (training and test
  together): a value below every real reading. ``min_rss`` is that replacement value; when it is
  ``None`` we compute ``min(observed) - 1`` from the array passed in. Callers that represent two
  arrays separately (a database and its queries) must pass the same ``min_rss`` to both;
  :class:`~ipsbook.methods.dml.knn.KNNPositioner` fixes it at ``fit``. A reading below an
  explicit ``min_rss`` (a query weaker than anything in the database) is clipped to ``min_rss``
  (our choice; it keeps every representation non-negative where the paper's is).
* **raw**: dBm with missing -> ``min_rss``.
* **positive**: ``RSS - min_rss`` (missing -> 0, heard > 0).
* **exponential**: ``exp(positive / alpha) / exp(-min_rss / alpha)`` with ``alpha = 24``.
* **powed**: ``positive ** beta / (-min_rss) ** beta`` with ``beta = e``.

The normalisers are the paper's: ``-min_rss`` is the "positive" value of a 0 dBm reading, the
strongest possible, so heard values fall in (0, 1] for RSS <= 0 dBm. (The reference MATLAB code
instead divides by the largest value present in the data; the two differ by a constant factor,
which changes no ranking and no correlation, only the absolute scale.)

Note that a missing AP is 0 in *positive* and *powed* but ``exp(min_rss / alpha) > 0`` in
*exponential*; this is the paper's definition, kept as is.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "ALPHA",
    "BETA",
    "NOT_DETECTED",
    "REPRESENTATIONS",
    "as_rss",
    "default_min_rss",
    "heard",
    "represent",
]

REPRESENTATIONS: tuple[str, ...] = ("raw", "positive", "exponential", "powed")
NOT_DETECTED = 100.0  # the datasets' marker for "AP not heard"
ALPHA = 24.0  # exponential representation (Torres-Sospedra et al. 2015)
BETA = math.e  # powed representation (Torres-Sospedra et al. 2015)


def as_rss(rss: np.ndarray, name: str = "rss", n_aps: int | None = None) -> np.ndarray:
    """``rss`` as a finite float64 ``(n, n_aps)`` array, or a ``ValueError`` that says why not."""
    arr = np.asarray(rss)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be a numeric array; got dtype {arr.dtype}")
    if arr.ndim != 2:
        hint = " (use rss[None, :] for one fingerprint)" if arr.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (n_fingerprints, n_aps); got shape {arr.shape}{hint}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no AP columns (shape {arr.shape})")
    if n_aps is not None and arr.shape[1] != n_aps:
        raise ValueError(
            f"{name} has {arr.shape[1]} APs per fingerprint but {n_aps} were expected "
            "(fingerprints must use the same AP columns)"
        )
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{name} contains NaN or infinite values; mark unheard APs with the "
            "dataset's 'not detected' value (100) instead"
        )
    return arr


def heard(rss: np.ndarray, missing: float | None = NOT_DETECTED) -> np.ndarray:
    """Boolean mask of heard APs (``rss != missing``); all True when ``missing`` is None."""
    arr = np.asarray(rss)
    if missing is None:
        return np.ones(arr.shape, dtype=bool)
    return arr != missing


def default_min_rss(*arrays: np.ndarray, missing: float | None = NOT_DETECTED) -> float:
    """``min(observed RSS) - 1`` over ``arrays`` (Torres-Sospedra's default "not heard" value)."""
    lows = []
    for a in arrays:
        a = np.asarray(a)
        h = heard(a, missing)
        if h.any():
            lows.append(float(a[h].min()))
    if not lows:
        raise ValueError("no AP is heard in any fingerprint: min_rss cannot be derived; pass it")
    return math.floor(min(lows)) - 1.0


def represent(
    rss: np.ndarray,
    kind: str = "raw",
    *,
    missing: float | None = NOT_DETECTED,
    min_rss: float | None = None,
    alpha: float = ALPHA,
    beta: float = BETA,
) -> np.ndarray:
    """Fingerprints ``rss`` (n x n_aps, dBm, ``missing`` = not heard) in representation ``kind``.

    ``kind`` is one of :data:`REPRESENTATIONS`. ``min_rss`` is the value that stands for a
    missing AP, below every reading (default ``min(observed) - 1``). Returns float64 n x n_aps.
    """
    if kind not in REPRESENTATIONS:
        raise ValueError(
            f"kind={kind!r} is not a known representation; allowed: {', '.join(REPRESENTATIONS)}"
        )
    arr = as_rss(rss)
    h = heard(arr, missing)
    if min_rss is None:
        min_rss = default_min_rss(arr, missing=missing)
    min_rss = float(min_rss)
    if not math.isfinite(min_rss) or min_rss >= 0:
        raise ValueError(f"min_rss={min_rss!r} must be a finite negative dBm value")
    if h.any() and min_rss >= float(arr[h].max()):
        raise ValueError(
            f"min_rss={min_rss} is not below the strongest reading ({float(arr[h].max())} dBm)"
        )
    # Missing -> min_rss; readings weaker than min_rss (queries vs a database) are clipped to it.
    raw = np.where(h, np.maximum(arr, min_rss), min_rss)
    if kind == "raw":
        return raw
    pos = raw - min_rss
    if kind == "positive":
        return pos
    if kind == "exponential":
        # exp(pos/alpha) / exp(-min/alpha), written as one exponent to avoid overflow
        return np.exp((pos + min_rss) / alpha)
    return (pos / -min_rss) ** beta  # powed
