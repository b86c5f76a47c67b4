"""Log-distance path loss with line-of-sight dependent parameters (paper D, eq. 1).

``RSSI(d) = A - L0 - 10 η log10(d / d0) + L_SH``. L0 and η take LoS or NLoS values. Paper D
says the state depends on "the relative position between a grid point and a beacon" but not how;
we draw it from the distance-dependent LoS probability of 3GPP TR 38.901 (InH-Mixed office,
Table 7.4.2-1), made spatially consistent by thresholding a correlated Gaussian field
(correlation distance 10 m, Table 7.6.3.1-2), so neighbouring points share their LoS state.
``los_model="always"`` puts every link in line of sight (the ideal regime of the chapter: a pure
log-distance law, no random LoS state).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from .grid import Grid
from .shadowing import correlated_field


def los_probability_inh_mixed(d: np.ndarray) -> np.ndarray:
    """3GPP TR 38.901 InH-Mixed office LoS probability at 2-D distance ``d`` (metres)."""
    d = np.asarray(d, dtype=float)
    near = np.exp(-(d - 1.2) / 4.7)
    far = np.exp(-(d - 6.5) / 32.6) * 0.32
    return np.where(d <= 1.2, 1.0, np.where(d < 6.5, near, far))


#: How the LoS state of a link is drawn: 3GPP InH-Mixed probability, or always LoS.
LOS_MODELS = ("inh-mixed", "always")


@dataclass(frozen=True)
class PathLossModel:
    """Eq. 1 of paper D; defaults are the 3GPP TR 38.901 InH fits evaluated at 2.4 GHz."""

    a_dbm: float = 0.0  # A: transmit power + antenna gains (our choice: 0 dBm BLE beacon)
    l0_los_db: float = 40.0  # 32.4 + 20 log10(2.4) (38.901 InH LoS)
    eta_los: float = 1.73  # 17.3 / 10 (38.901 InH LoS)
    l0_nlos_db: float = 26.8  # 17.3 + 24.9 log10(2.4) (38.901 InH NLoS)
    eta_nlos: float = 3.83  # 38.3 / 10 (38.901 InH NLoS)
    d0_m: float = 1.0
    los_corr_m: float = 10.0
    d_min_m: float = 0.1  # avoids log(0) for a point on top of a beacon
    los_model: str = "inh-mixed"  # "inh-mixed": 3GPP LoS probability; "always": LoS everywhere

    def __post_init__(self) -> None:
        if self.los_model not in LOS_MODELS:
            raise ValueError(f"los_model={self.los_model!r} is not known; allowed: "
                             f"{', '.join(LOS_MODELS)}")

    def mean_rssi(self, d: np.ndarray, los: np.ndarray) -> np.ndarray:
        """Mean RSSI in dBm at distance ``d``; NLoS loss never below LoS loss (as in 38.901)."""
        d = np.maximum(np.asarray(d, dtype=float), self.d_min_m) / self.d0_m
        pl_los = self.l0_los_db + 10 * self.eta_los * np.log10(d)
        pl_nlos = np.maximum(pl_los, self.l0_nlos_db + 10 * self.eta_nlos * np.log10(d))
        return self.a_dbm - np.where(los, pl_los, pl_nlos)


def rssi_map(
    grid: Grid,
    beacons: np.ndarray,
    model: PathLossModel,
    sigma_sh_db: float,
    d_sh_m: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Offline radio map on ``grid``: RSSI ``(n_beacons, grid.size)`` in dBm and the LoS mask.

    Each beacon link gets its own LoS field and its own shadowing field (independent links).
    With ``model.los_model == "always"`` no LoS field is drawn, and with ``sigma_sh_db == 0`` no
    shadowing: the map is then deterministic and ``rng`` is left untouched.
    """
    beacons = np.asarray(beacons, dtype=float)
    pts = grid.points
    d = np.hypot(pts[None, :, 0] - beacons[:, 0:1], pts[None, :, 1] - beacons[:, 1:2])
    if model.los_model == "always":
        los = np.ones(d.shape, dtype=bool)
    else:
        u = ndtr(correlated_field(grid, 1.0, model.los_corr_m, rng, len(beacons)))
        los = u.reshape(len(beacons), -1) < los_probability_inh_mixed(d)
    shadow = correlated_field(grid, sigma_sh_db, d_sh_m, rng, len(beacons)).reshape(len(beacons), -1)
    return model.mean_rssi(d, los) + shadow, los
