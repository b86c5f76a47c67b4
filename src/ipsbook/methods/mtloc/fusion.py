"""Beyond paper E: what a positioning engineer tries first — a Kalman filter over PDR steps
with Wi-Fi kNN fixes.

The state is the 2-D position with an isotropic variance ``P`` (m²). Each detected step
*predicts*: the position moves by the PDR step vector and ``P`` grows by ``step_sigma_m²``
(the step's length and heading error). Each Wi-Fi scan with a kNN position *corrects*: with
gain ``K = P / (P + fix_sigma_m²)`` the position moves ``K`` of the way to the fix and ``P``
shrinks to ``(1 - K) P``. This is the textbook linear Kalman filter with an identity motion
and measurement model (e.g. Groves, *Principles of GNSS, Inertial, and Multisensor Integrated
Navigation Systems*, ch. 3), written out for the isotropic case.

The filter starts at a given position with variance ``start_sigma_m²`` — in the chapter the
trace's first ground-truth waypoint, as for PDR ("started at the true position").

Limits: with no fix it *is* PDR; with noise-free fixes (``fix_sigma_m = 0``) it jumps onto
each fix. The unit tests pin both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["FusionConfig", "kalman_track"]


@dataclass(frozen=True)
class FusionConfig:
    """Noise of the filter (1-sigma per axis, m). ``step_sigma_m``: the error a PDR step adds;
    ``fix_sigma_m``: the error of one Wi-Fi kNN fix; ``start_sigma_m``: of the start."""

    step_sigma_m: float = 0.3
    fix_sigma_m: float = 5.0
    start_sigma_m: float = 0.0

    def __post_init__(self) -> None:
        for name in ("step_sigma_m", "fix_sigma_m", "start_sigma_m"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) \
                    or not np.isfinite(v) or v < 0:
                raise ValueError(f"{name}={v!r} must be a finite number >= 0 (m)")


def kalman_track(
    start_t_ms: float,
    start_xy: Sequence[float],
    step_t_ms: Sequence[float],
    step_xy: Sequence[Sequence[float]],
    fix_t_ms: Sequence[float],
    fix_xy: Sequence[Sequence[float]],
    t_ms: Sequence[float],
    config: FusionConfig = FusionConfig(),
) -> np.ndarray:
    """Filtered positions (m, [n, 2]) at the times ``t_ms``.

    ``step_t_ms`` [S] and ``step_xy`` [S, 2]: the PDR steps (time, displacement);
    ``fix_t_ms`` [F] and ``fix_xy`` [F, 2]: the Wi-Fi fixes. Events before ``start_t_ms`` are
    ignored; at equal times a step comes before a fix. Between events the position is
    interpolated linearly in time, as PDR's track is (:func:`.baselines.pdr_positions`)."""
    st = np.asarray(step_t_ms, np.float64).ravel()
    sv = np.asarray(step_xy, np.float64).reshape(-1, 2)
    ft = np.asarray(fix_t_ms, np.float64).ravel()
    fv = np.asarray(fix_xy, np.float64).reshape(-1, 2)
    if len(st) != len(sv) or len(ft) != len(fv):
        raise ValueError(f"steps: {len(st)} times and {len(sv)} vectors; fixes: {len(ft)} times "
                         f"and {len(fv)} positions; each time needs its vector")
    keep_s, keep_f = st > start_t_ms, ft > start_t_ms
    st, sv, ft, fv = st[keep_s], sv[keep_s], ft[keep_f], fv[keep_f]
    times = np.concatenate([st, ft])
    kind = np.concatenate([np.zeros(len(st), int), np.ones(len(ft), int)])
    vec = np.vstack([sv, fv]) if len(times) else np.empty((0, 2))
    order = np.lexsort((kind, times))
    x = np.asarray(start_xy, np.float64).reshape(2).copy()
    p = config.start_sigma_m ** 2
    q, r = config.step_sigma_m ** 2, config.fix_sigma_m ** 2
    track_t = [float(start_t_ms)]
    track = [x.copy()]
    for i in order:
        if kind[i] == 0:
            x = x + vec[i]
            p = p + q
        else:
            gain = 1.0 if p + r == 0 else p / (p + r)
            x = x + gain * (vec[i] - x)
            p = (1.0 - gain) * p
        track_t.append(float(times[i]))
        track.append(x.copy())
    tt = np.asarray(track_t)
    tr = np.asarray(track)
    t = np.asarray(t_ms, np.float64)
    # np.interp needs increasing x: at equal times keep the last state
    last = np.r_[tt[1:] != tt[:-1], True]
    tt, tr = tt[last], tr[last]
    return np.column_stack([np.interp(t, tt, tr[:, 0]), np.interp(t, tt, tr[:, 1])])
