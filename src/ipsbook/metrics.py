"""Positioning errors on 2-D positions: mean (the papers' "MAE"), median, RMSE, p75, p95, ECDF."""

from __future__ import annotations

import numpy as np
import pandas as pd


def errors(est: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Euclidean error per sample (metres) between ``(n, 2)`` estimates and true positions."""
    est = np.asarray(est, dtype=float)
    truth = np.asarray(truth, dtype=float)
    if est.shape != truth.shape or est.ndim != 2 or est.shape[1] != 2:
        raise ValueError(f"est and truth must both be (n, 2); got {est.shape} and {truth.shape}")
    return np.hypot(*(est - truth).T)


def summary(err: np.ndarray) -> dict[str, float]:
    """Mean, median, RMSE, 75th and 95th percentile of a vector of errors (metres)."""
    err = np.asarray(err, dtype=float).ravel()
    if err.size == 0:
        raise ValueError("summary() needs at least one error")
    if np.any(err < 0) or not np.all(np.isfinite(err)):
        raise ValueError("errors must be finite and >= 0")
    return {
        "mean_m": float(err.mean()),
        "median_m": float(np.median(err)),
        "rmse_m": float(np.sqrt(np.mean(err**2))),
        "p75_m": float(np.percentile(err, 75)),
        "p95_m": float(np.percentile(err, 95)),
        "n": int(err.size),
    }


def summary_table(errors_by_method: dict[str, np.ndarray]) -> pd.DataFrame:
    """One :func:`summary` row per method."""
    return pd.DataFrame([{"method": k, **summary(v)} for k, v in errors_by_method.items()])


def ecdf(err: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted errors and their empirical CDF values ``i/n``."""
    x = np.sort(np.asarray(err, dtype=float).ravel())
    return x, np.arange(1, x.size + 1) / x.size
