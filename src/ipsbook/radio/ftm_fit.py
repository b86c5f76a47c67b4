"""Fit the FTM simulator's error model (:class:`ipsbook.radio.ftm.FTMModel`) to real ranges.

Input: a long-form frame with at least ``measured_m``, ``true_m`` and ``los`` (the
``ipsbook.data.rtt`` loaders, or :func:`ranges_frame` of a simulation). Per class -- LoS,
NLoS, or "unlabelled" where ``los`` is NA (rtt-yu) -- we estimate the bias, the spread, the
dilation ``measured ≈ k·true + b``, the share of missing ranges and the share of the error
variance that changes from scan to scan (``burst_share``), then map them onto an
``FTMModel`` with :func:`to_model`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .ftm import FTMModel, FTMRanges

__all__ = [
    "CLASSES",
    "ClassFit",
    "FitResult",
    "fit_error_model",
    "fit_table",
    "ranges_frame",
    "ranging_errors",
    "to_model",
]

CLASSES = ("LoS", "NLoS", "unlabelled")
_MAD_TO_SIGMA = 1.4826  # MAD × this = σ for a Gaussian
_REDUCE = (None, "min", "median")
# Ranges taken at the same spot from the same AP (the "burst" of a survey point).
_POINT_KEYS = ["scene", "x_m", "y_m", "ap"]


def _check_frame(df: object, need: set[str]) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df={type(df).__name__} is not valid; allowed: a pandas DataFrame")
    missing = sorted(need - set(df.columns))
    if missing:
        raise ValueError(
            f"df lacks columns {missing}; allowed: a frame from ipsbook.data.rtt loaders or "
            "ranges_frame()"
        )
    return df


def _classes(los: pd.Series) -> np.ndarray:
    lab = los.astype("boolean")
    return np.where(lab.isna(), "unlabelled", np.where(lab.fillna(False), "LoS", "NLoS"))


def ranging_errors(df: pd.DataFrame) -> pd.DataFrame:
    """Valid ranges of ``df`` (missing ones dropped) with ``error_m = measured_m − true_m``
    and ``cls`` (LoS / NLoS / unlabelled); keeps scene, ap, los, true_m, measured_m and, when
    present, split, x_m, y_m."""
    df = _check_frame(df, {"measured_m", "true_m", "los"})
    keep = [c for c in ("scene", "split", "x_m", "y_m", "ap", "los") if c in df.columns]
    out = df.loc[df["measured_m"].notna(), keep + ["true_m", "measured_m"]].copy()
    if "scene" not in out.columns:
        out.insert(0, "scene", "")
    out["error_m"] = out["measured_m"] - out["true_m"]
    out["cls"] = _classes(out["los"])
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class ClassFit:
    """Error statistics of one class (metres). ``k``/``b``: Theil–Sen fit of measured on true;
    ``k_ls``/``b_ls``: least squares. ``sigma_mad`` = 1.4826 · MAD of the error (robust σ);
    ``sigma_resid`` the same of the residuals about the Theil–Sen line (the spread left once
    the dilation is accounted for). ``burst_share``:
    mean within-point error variance / total error variance (NaN when reduced, or when too few
    points have repeated scans, as in rtt-yu).
    ``bins``: error median and quartiles by true-range bin (``None`` if not asked)."""

    cls: str
    n: int
    n_missing: int
    bias_median: float
    bias_mean: float
    sigma_std: float
    sigma_mad: float
    sigma_resid: float
    k: float
    b: float
    k_ls: float
    b_ls: float
    burst_share: float
    bins: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    @property
    def missing_share(self) -> float:
        total = self.n + self.n_missing
        return self.n_missing / total if total else float("nan")


@dataclass(frozen=True)
class FitResult:
    """Per-class fits of one frame (``scene``: its scene name(s), joined by ``+``)."""

    scene: str
    reduce: str | None
    classes: dict[str, ClassFit]

    def __getitem__(self, cls: str) -> ClassFit:
        if cls not in self.classes:
            raise KeyError(f"class {cls!r} not in this fit; present: {list(self.classes)}")
        return self.classes[cls]

    @property
    def missing_share(self) -> float:
        """Share of missing ranges over all classes."""
        n = sum(c.n for c in self.classes.values())
        m = sum(c.n_missing for c in self.classes.values())
        return m / (n + m) if n + m else float("nan")

    def table(self) -> pd.DataFrame:
        return fit_table(self)


def _bins_table(true_m: np.ndarray, err: np.ndarray, width: float) -> pd.DataFrame:
    lo = np.floor(true_m / width) * width
    g = pd.DataFrame({"bin_lo": lo, "e": err}).groupby("bin_lo")["e"]
    t = pd.DataFrame(
        {
            "n": g.size(),
            "median": g.median(),
            "q25": g.quantile(0.25),
            "q75": g.quantile(0.75),
        }
    ).reset_index()
    t.insert(1, "bin_hi", t["bin_lo"] + width)
    t["iqr"] = t["q75"] - t["q25"]
    return t


def _fit_class(
    cls: str,
    sub: pd.DataFrame,
    *,
    point_var: float,
    bin_width: float | None,
    theil_sen_max: int,
    rng: np.random.Generator,
) -> ClassFit:
    valid = sub["measured_m"].notna().to_numpy()
    t = sub["true_m"].to_numpy(float)[valid]
    m = sub["measured_m"].to_numpy(float)[valid]
    e = m - t
    n = len(e)
    nan = float("nan")
    if n == 0:
        return ClassFit(cls, 0, int((~valid).sum()), *([nan] * 10))
    med = float(np.median(e))
    sigma_mad = _MAD_TO_SIGMA * float(np.median(np.abs(e - med)))
    sigma_std = float(np.std(e, ddof=1)) if n > 1 else nan
    if n > 1 and np.ptp(t) > 0:
        k_ls, b_ls = (float(v) for v in np.polyfit(t, m, 1))
        # Theil–Sen is O(n²) in memory: fit it on a random subsample of the rows
        idx = rng.choice(n, theil_sen_max, replace=False) if n > theil_sen_max else slice(None)
        ts = stats.theilslopes(m[idx], t[idx])
        k, b = float(ts.slope), float(ts.intercept)
        r = m - (k * t + b)
        sigma_resid = _MAD_TO_SIGMA * float(np.median(np.abs(r - np.median(r))))
    else:
        k = b = k_ls = b_ls = sigma_resid = nan
    burst = point_var / sigma_std**2 if sigma_std and math.isfinite(point_var) else nan
    return ClassFit(
        cls=cls,
        n=n,
        n_missing=int((~valid).sum()),
        bias_median=med,
        bias_mean=float(np.mean(e)),
        sigma_std=sigma_std,
        sigma_mad=sigma_mad,
        sigma_resid=sigma_resid,
        k=k,
        b=b,
        k_ls=k_ls,
        b_ls=b_ls,
        burst_share=float(min(burst, 1.0)) if math.isfinite(burst) else nan,
        bins=_bins_table(t, e, bin_width) if bin_width else None,
    )


def _point_variance(sub: pd.DataFrame) -> float:
    """Mean within-point error variance (scans of one survey point and AP); NaN unless points
    with repeated scans hold at least half of the valid ranges (rtt-yu's walked positions
    hardly repeat, and a handful of repeats would not represent the scene)."""
    sub = sub[sub["measured_m"].notna()]
    err = (sub["measured_m"] - sub["true_m"]).to_numpy(float)
    g = pd.Series(err).groupby([sub[k].to_numpy() for k in _POINT_KEYS], dropna=False)
    size, var = g.size(), g.var()  # ddof 1
    repeated = size >= 2
    if size[repeated].sum() < 0.5 * len(err):
        return float("nan")
    return float(var[repeated].mean())


def fit_error_model(
    df: pd.DataFrame,
    *,
    reduce: str | None = None,
    bin_width: float | None = 2.0,
    theil_sen_max: int = 2000,
    seed: int = 0,
) -> FitResult:
    """Fit the ranging-error model of ``df`` separately for its LoS, NLoS and unlabelled rows.

    ``reduce``: ``None`` uses every scan; ``"min"`` (the paper's best of a burst) or
    ``"median"`` first reduces the scans of each survey point and AP (same scene, x_m, y_m,
    ap) to one range. Missing ranges (NaN measured) are counted, not fitted; rtt-yu has rows
    only for APs heard, so load it with ``fill_missing=True`` to count its missing ranges.
    ``bin_width`` (m): per-distance-bin error table (``None``: skip). Theil–Sen uses at most
    ``theil_sen_max`` rows, drawn with ``seed``.
    """
    df = _check_frame(df, {"measured_m", "true_m", "los"})
    if reduce not in _REDUCE:
        raise ValueError(f"reduce={reduce!r} is not valid; allowed values: None, 'min', 'median'")
    if bin_width is not None and not (isinstance(bin_width, int | float) and bin_width > 0):
        raise ValueError(f"bin_width={bin_width!r} is not valid; allowed: None or a number > 0")
    if not isinstance(theil_sen_max, int) or theil_sen_max < 3:
        raise ValueError(f"theil_sen_max={theil_sen_max!r} is not valid; allowed: an int >= 3")
    work = df.reset_index(drop=True)  # a concat of frames may repeat index labels
    work["cls"] = _classes(work["los"])
    if "scene" not in work.columns:
        work["scene"] = ""
    has_points = set(_POINT_KEYS) <= set(work.columns)
    if reduce is not None:
        if not has_points:
            raise ValueError(f"reduce={reduce!r} needs columns {_POINT_KEYS} in df")
        work = (
            work.groupby([*_POINT_KEYS, "cls"], sort=False, dropna=False)
            .agg(true_m=("true_m", "first"), measured_m=("measured_m", reduce))
            .reset_index()
        )
    rng = np.random.default_rng(seed)
    out: dict[str, ClassFit] = {}
    for cls in CLASSES:
        sub = work[work["cls"] == cls]
        if sub.empty:
            continue
        point_var = float("nan")
        if reduce is None and has_points:
            point_var = _point_variance(sub)
        out[cls] = _fit_class(
            cls,
            sub,
            point_var=point_var,
            bin_width=bin_width,
            theil_sen_max=theil_sen_max,
            rng=rng,
        )
    scene = "+".join(str(s) for s in pd.unique(work["scene"]))
    return FitResult(scene=scene, reduce=reduce, classes=out)


def to_model(fit: FitResult, base: FTMModel | None = None) -> FTMModel:
    """``base`` (default ``FTMModel()``) with the fitted parameters of ``fit`` put in.

    - LoS (or, without LoS rows, unlabelled: the whole scene's error taken as the baseline)
      robust σ → ``sigma_los``, median error → ``bias_los``, ``burst_share`` (if estimated).
    - NLoS, assuming an NLoS link in these rooms crosses about one wall:
      ``k_per_wall = k_NLoS − k_LoS`` and ``wall_bias = b_NLoS − b_LoS`` (Theil–Sen slopes and
      intercepts; without LoS rows, ``base.k_los`` and the LoS bias stand in for them), robust
      σ of the residuals about the NLoS line → ``sigma_nlos`` (the slope already spreads the
      errors over distance). A negative ``k_per_wall`` is set to 0 with a warning.
    - the share of missing ranges (all classes) → ``p_missing``.
    ``k_los`` stays ``base.k_los``: phone↔AP slopes mix in antenna heights (2-D truth).
    """
    base = FTMModel() if base is None else base
    if not isinstance(fit, FitResult):
        raise TypeError(f"fit={type(fit).__name__} is not valid; allowed: a FitResult")
    changes: dict[str, object] = {}
    ref = fit.classes.get("LoS") or fit.classes.get("unlabelled")
    k_ref, b_ref = base.k_los, base.bias_los
    if ref is not None and ref.n > 0:
        changes.update(sigma_los=ref.sigma_mad, bias_los=ref.bias_median)
        if math.isfinite(ref.burst_share):
            changes["burst_share"] = ref.burst_share
        b_ref = ref.bias_median
        if math.isfinite(ref.k):
            k_ref, b_ref = ref.k, ref.b
    nlos = fit.classes.get("NLoS")
    if nlos is not None and nlos.n > 0 and math.isfinite(nlos.k):
        k_wall = nlos.k - k_ref
        if k_wall < 0:
            warnings.warn(
                f"{fit.scene}: NLoS slope {nlos.k:.3f} < reference slope {k_ref:.3f}; "
                "k_per_wall set to 0",
                stacklevel=2,
            )
            k_wall = 0.0
        changes.update(k_per_wall=k_wall, wall_bias=nlos.b - b_ref, sigma_nlos=nlos.sigma_resid)
    p = fit.missing_share
    if math.isfinite(p):
        changes["p_missing"] = min(p, 0.99)
    return base.replace(**changes)


def fit_table(
    fits: FitResult | Iterable[FitResult] | Mapping[str, FitResult],
) -> pd.DataFrame:
    """One row per (fit, class) for the chapter: scene, reduce, class, n, missing share, bias
    (median, mean), σ (robust, std, robust about the line), k, b (Theil–Sen), k_ls, b_ls, burst share. A mapping's
    keys replace the scene names."""
    if isinstance(fits, FitResult):
        items: list[tuple[str, FitResult]] = [(fits.scene, fits)]
    elif isinstance(fits, Mapping):
        items = [(str(k), v) for k, v in fits.items()]
    else:
        items = [(f.scene, f) for f in fits]
    rows = []
    for name, f in items:
        if not isinstance(f, FitResult):
            raise TypeError(f"fits contains {type(f).__name__}; allowed: FitResult objects")
        for c in f.classes.values():
            rows.append(
                {
                    "scene": name,
                    "reduce": f.reduce or "none",
                    "class": c.cls,
                    "n": c.n,
                    "missing_share": c.missing_share,
                    "bias_median": c.bias_median,
                    "bias_mean": c.bias_mean,
                    "sigma_mad": c.sigma_mad,
                    "sigma_std": c.sigma_std,
                    "sigma_resid": c.sigma_resid,
                    "k": c.k,
                    "b": c.b,
                    "k_ls": c.k_ls,
                    "b_ls": c.b_ls,
                    "burst_share": c.burst_share,
                }
            )
    return pd.DataFrame(rows)


def ranges_frame(
    r: FTMRanges, X: np.ndarray, *, scene: str = "simulated", directed: bool | None = None
) -> pd.DataFrame:
    """A simulation (:func:`ipsbook.radio.ftm.simulate_ranges` on nodes ``X``) in the loaders'
    long form, so it goes through the same fit and plots as real data: one row per pair
    ``i < j`` (or per ordered pair ``i ≠ j`` when ``directed``; default: when ``D`` is not
    symmetric). Node ``i`` plays the phone (x_m, y_m), node ``j`` the AP."""
    X = np.asarray(X, dtype=float)
    n = len(X)
    if X.shape != (n, 2) or r.D.shape != (n, n):
        raise ValueError(f"X has shape {X.shape}; allowed: ({r.D.shape[0]}, 2) matching r.D")
    if directed is None:
        directed = not np.array_equal(r.D, r.D.T, equal_nan=True)
    if directed:
        i, j = np.nonzero(~np.eye(n, dtype=bool))
    else:
        i, j = np.triu_indices(n, 1)
    return pd.DataFrame(
        {
            "scene": scene,
            "i": i,
            "j": j,
            "x_m": X[i, 0],
            "y_m": X[i, 1],
            "ap": j,
            "ap_x_m": X[j, 0],
            "ap_y_m": X[j, 1],
            "measured_m": r.D[i, j],
            "true_m": r.D_true[i, j],
            "walls": r.walls[i, j],
            "los": r.los[i, j],
        }
    )
