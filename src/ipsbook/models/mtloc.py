"""MTLoc: the multimodal network of paper E (Wei & Radu), Table I.

Three branches read one time step each and a small head fuses them::

    Wi-Fi   [n_aps]        -> FC 128 -> FC 128 ---------------\
    IMU     [10 x 2]       -> LSTM 128 (last hidden state) ----+-> concat 384 -> FC 128 -> FC 2 (x, y)
    magnet. [10 x 1]       -> LSTM 128 (last hidden state) ---/

The IMU branch (:class:`IMUBranch`) is the *transferable* component: it is pre-trained on the
source site inside :class:`IMURegressor` (the same LSTM plus a 2-unit regression layer, paper
Sect. IV.B and Table IV), then copied into an MTLoc for the target site, either frozen
("transferred") or trainable ("fine-tuned").

Choices the paper leaves open, stated here once:

* **Activations.** ReLU after every fully connected layer except the 2-unit output (linear);
  the LSTMs use PyTorch's (= Keras') default tanh/sigmoid gates and feed their *last* hidden
  state forward (Keras ``return_sequences=False``).
* **Input scaling.** Each branch starts with a fixed affine map stored as buffers (saved with
  the weights, not trained, not counted): Wi-Fi RSS ``(rss - floor) / -floor`` so that "not
  heard" is 0 and -0 dBm would be 1; IMU and magnetometer channels standardised with the mean
  and standard deviation of the data the branch was first trained on. The IMU branch carries
  its source-site scaling with it when transferred: the transferred LSTM sees the target's IMU
  data in the units it was trained in.
* **Missing windows.** A NaN in an IMU or magnetometer window (how
  :mod:`ipsbook.methods.mtloc.wipe` removes a data point) becomes 0 after standardising: the
  channel's training mean. A missing Wi-Fi reading is the floor value, as in the data.
* **Output scaling.** The regression layer predicts standardised coordinates; ``pos_mean`` and
  ``pos_scale`` buffers turn them back into metres of the site's floor-plan frame.

Parameter counts. PyTorch's LSTM keeps two bias vectors per gate block (``bias_ih`` and
``bias_hh``) where Keras keeps one, so a PyTorch LSTM has ``4·hidden`` more parameters than the
Keras layer of the paper's Table I. :func:`layer_table` reports both counts per layer; with
750 access points the Keras total is the paper's 295,810.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

__all__ = [
    "PAPER_TABLE_I",
    "IMUBranch",
    "IMURegressor",
    "MTLoc",
    "SequenceBranch",
    "keras_parameter_count",
    "layer_table",
    "set_position_scaling",
]

# Paper E, Table I: (layer, output shape, trainable parameters) with 750 access points.
PAPER_TABLE_I: tuple[tuple[str, str, int], ...] = (
    ("FC Layer.1 (WiFi)", "128", 96128),
    ("FC Layer.2 (WiFi)", "128", 16512),
    ("IMU-LSTM (Transfer)", "128", 67072),
    ("MAG-LSTM (MAG)", "128", 66560),
    ("FC Layer.3 (Fusion)", "128", 49280),
    ("FC Layer.4 (Fusion)", "2", 258),
)


def _check_pos_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer")
    return int(value)


class _Affine(nn.Module):
    """``(x - shift) * scale`` with per-channel buffers (not trained, saved with the model)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.register_buffer("shift", torch.zeros(n))
        self.register_buffer("scale", torch.ones(n))

    def set(self, shift: np.ndarray | torch.Tensor | float, scale: np.ndarray | torch.Tensor | float) -> None:
        shift_t = torch.as_tensor(shift, dtype=torch.float32).expand_as(self.shift).clone()
        scale_t = torch.as_tensor(scale, dtype=torch.float32).expand_as(self.scale).clone()
        if not torch.all(torch.isfinite(scale_t)) or torch.any(scale_t == 0):
            raise ValueError("input scaling must be finite and non-zero in every channel")
        self.shift.copy_(shift_t)
        self.scale.copy_(scale_t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.shift) * self.scale


class SequenceBranch(nn.Module):
    """Standardise a ``[batch, steps, channels]`` window, run one LSTM layer, return its last
    hidden state ``[batch, hidden]``."""

    def __init__(self, channels: int, hidden: int = 128) -> None:
        super().__init__()
        self.channels = _check_pos_int("channels", channels)
        self.hidden = _check_pos_int("hidden", hidden)
        self.norm = _Affine(self.channels)
        self.lstm = nn.LSTM(self.channels, self.hidden, batch_first=True)

    def fit_scaling(self, x: np.ndarray) -> None:
        """Standardise with the mean and std per channel of ``x`` ([n, steps, channels])."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.channels)
        std = x.std(axis=0)
        self.norm.set(x.mean(axis=0), 1.0 / np.where(std > 0, std, 1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3 or x.shape[-1] != self.channels:
            raise ValueError(
                f"expected a [batch, steps, {self.channels}] window, got shape {tuple(x.shape)}"
            )
        # NaN marks a wiped window (ipsbook.methods.mtloc.wipe): after standardising it becomes
        # 0, the training mean of the channel, i.e. "no information"
        _, (h, _) = self.lstm(torch.nan_to_num(self.norm(x), nan=0.0))
        return h[-1]


class IMUBranch(SequenceBranch):
    """The transferable IMU-LSTM (accelerometer + gyroscope window)."""


class IMURegressor(nn.Module):
    """Pre-training model (paper Sect. IV.B, Table IV): IMU-LSTM + a 2-unit regression layer
    predicting the (standardised) position from the IMU window alone."""

    def __init__(self, imu_channels: int = 2, hidden: int = 128) -> None:
        super().__init__()
        self.imu = IMUBranch(imu_channels, hidden)
        self.out = nn.Linear(hidden, 2)
        self.register_buffer("pos_mean", torch.zeros(2))
        self.register_buffer("pos_scale", torch.ones(2))

    def forward_normalised(self, *, imu: torch.Tensor, **_: torch.Tensor) -> torch.Tensor:
        return self.out(self.imu(imu))

    def forward(self, *, imu: torch.Tensor, **_: torch.Tensor) -> torch.Tensor:
        return self.forward_normalised(imu=imu) * self.pos_scale + self.pos_mean


class MTLoc(nn.Module):
    """The MTLoc network of Table I (see the module docstring).

    Parameters
    ----------
    n_aps : length of the Wi-Fi vector (the site's access-point vocabulary; paper: 750).
    imu_channels : channels of the IMU window (2: |acc|, |gyro| as in the paper; 6: raw axes).
    mag_channels : channels of the magnetometer window (1: |B| as in the paper; 3: raw axes).
    hidden : width of every hidden layer and LSTM (paper: 128).
    rss_floor_dbm : the value that stands for "not heard" in the Wi-Fi vector.
    """

    def __init__(
        self,
        n_aps: int,
        imu_channels: int = 2,
        mag_channels: int = 1,
        hidden: int = 128,
        rss_floor_dbm: float = -110.0,
    ) -> None:
        super().__init__()
        self.n_aps = _check_pos_int("n_aps", n_aps)
        hidden = _check_pos_int("hidden", hidden)
        if not (isinstance(rss_floor_dbm, (int, float)) and rss_floor_dbm < 0):
            raise ValueError(f"rss_floor_dbm={rss_floor_dbm!r} must be a negative number (dBm)")
        self.wifi_norm = _Affine(1)
        self.wifi_norm.set(float(rss_floor_dbm), -1.0 / float(rss_floor_dbm))
        self.wifi = nn.Sequential(
            nn.Linear(self.n_aps, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.imu = IMUBranch(imu_channels, hidden)
        self.mag = SequenceBranch(mag_channels, hidden)
        self.fusion = nn.Sequential(nn.Linear(3 * hidden, hidden), nn.ReLU())
        self.out = nn.Linear(hidden, 2)
        self.register_buffer("pos_mean", torch.zeros(2))
        self.register_buffer("pos_scale", torch.ones(2))

    def forward_normalised(
        self, *, wifi: torch.Tensor, imu: torch.Tensor, mag: torch.Tensor, **_: torch.Tensor
    ) -> torch.Tensor:
        if wifi.ndim != 2 or wifi.shape[-1] != self.n_aps:
            raise ValueError(
                f"wifi has shape {tuple(wifi.shape)}; this model was built for n_aps={self.n_aps} "
                "access points ([batch, n_aps])"
            )
        z = torch.cat([self.wifi(self.wifi_norm(wifi)), self.imu(imu), self.mag(mag)], dim=-1)
        return self.out(self.fusion(z))

    def forward(
        self, *, wifi: torch.Tensor, imu: torch.Tensor, mag: torch.Tensor, **_: torch.Tensor
    ) -> torch.Tensor:
        return self.forward_normalised(wifi=wifi, imu=imu, mag=mag) * self.pos_scale + self.pos_mean


def set_position_scaling(model: nn.Module, pos: np.ndarray) -> None:
    """Set a model's ``pos_mean``/``pos_scale`` buffers from training positions (m)."""
    pos = np.asarray(pos, dtype=np.float64)
    std = pos.std(axis=0)
    model.pos_mean.copy_(torch.as_tensor(pos.mean(axis=0), dtype=torch.float32))
    model.pos_scale.copy_(torch.as_tensor(np.where(std > 0, std, 1.0), dtype=torch.float32))


def keras_parameter_count(module: nn.Module, trainable_only: bool = False) -> int:
    """Parameters as Keras counts them: one bias vector per LSTM gate block instead of two."""
    total = sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
    for m in module.modules():
        if isinstance(m, nn.LSTM) and m.bias:
            if trainable_only and not m.bias_hh_l0.requires_grad:
                continue
            total -= m.num_layers * 4 * m.hidden_size * (2 if m.bidirectional else 1)
    return total


def _count(module: nn.Module) -> tuple[int, int]:
    return sum(p.numel() for p in module.parameters()), keras_parameter_count(module)


@dataclass(frozen=True)
class _Row:
    layer: str
    shape: str
    module: nn.Module


def layer_table(model: MTLoc) -> pd.DataFrame:
    """Table I for ``model``: each layer's output shape and parameters, counted the PyTorch way
    and the Keras way, beside the paper's figure (whose Wi-Fi FC 1 assumes 750 APs)."""
    rows = [
        _Row("FC Layer.1 (WiFi)", "128", model.wifi[0]),
        _Row("FC Layer.2 (WiFi)", "128", model.wifi[2]),
        _Row("IMU-LSTM (Transfer)", "128", model.imu),
        _Row("MAG-LSTM (MAG)", "128", model.mag),
        _Row("FC Layer.3 (Fusion)", "128", model.fusion[0]),
        _Row("FC Layer.4 (Fusion)", "2", model.out),
    ]
    paper = {name: n for name, _, n in PAPER_TABLE_I}
    out = []
    for r in rows:
        pt, keras = _count(r.module)
        out.append(
            {"layer": r.layer, "output shape": r.shape, "parameters (PyTorch)": pt,
             "parameters (Keras)": keras, "paper (750 APs)": paper[r.layer]}
        )
    pt, keras = _count(model)
    out.append(
        {"layer": "total", "output shape": "", "parameters (PyTorch)": pt,
         "parameters (Keras)": keras, "paper (750 APs)": sum(paper.values())}
    )
    return pd.DataFrame(out)
