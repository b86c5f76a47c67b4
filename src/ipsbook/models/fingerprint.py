"""The four specialised networks of paper C (Nguyen et al., arXiv 2412.12189), each split into
Framer F, Extractor E and Regressor R as its Sect. 3.1 requires.

Paper C decomposes every specialised model ``S = {F, E, R}``: F "crafts features" from a batch of
RSS fingerprints, E turns them into the specialised representation ``Z^E``, and R regresses the
position from ``Z^E``. A surrogate teacher (three fully connected layers) later learns to
*generate* ``Z^F`` and ``Z^E`` of a source model from noise, so both are exposed here as flat
``[batch, z_f_dim]`` / ``[batch, z_e_dim]`` tensors, and every model satisfies, exactly::

    model(x) == model.regressor(model.extractor(model.framer(x)))

Paper C gives no layer lists for any of the four networks; it cites their own papers. Where the
cut between F, E and R falls is therefore our decision, made by one rule for all four:

* **F** is the part that reads the dataset-specific anchor vector (its width is the dataset's
  number of anchors) and frames it as a first feature map;
* **E** is everything from there to the last hidden representation; its output width
  (``z_e_dim``) does **not** depend on the number of anchors, so a target model's ``Z^E`` and a
  source teacher's modelled ``Z^E`` have the same size, as the angular similarity ``J_Sim``
  (eq. 1) and the mutual-information estimator ``J_MI`` (eq. 4) need;
* **R** is the output layer. ``Z^F`` may have a dataset-dependent size: the functional-information
  constraint (eqs. 8-11) only pairs it with ``Z^E`` of the *same* network in the transmitting
  matrix, whose final form in eq. 15 (``Z_{j-1}^T W^T W Z_{j-1}``) is batch-by-batch, M x M.

What we followed, network by network (details in each class docstring):

* **DNN** -- Félix, Siller & Navarro Álvarez, "A fingerprinting indoor localization algorithm
  based deep learning", ICUFN 2016, pp. 1006-1011. Text not reachable here: layer widths are
  our choice.
* **CNNLoc** -- Song et al., "A novel convolutional neural network based indoor localization
  framework with WiFi fingerprinting", IEEE Access 7:110698-110709, 2019. Layers as in the
  authors' Keras code, ``XudongSong/CNNLoc-Access`` (``encoder_model.py``, ``data_helper.py``,
  commit 62b48bca), which ``XudongSong/CNNLoc`` repeats.
* **BayesCNN** -- Sinha & Le, "Completely automated CNN architecture design based on VGG blocks
  for fingerprinting localisation", IPIN 2021. Text not reachable here: one fixed VGG-block
  configuration of our choosing.
* **bAaT** -- Nguyen, Le & Havinga, "Learning the world from its words: anchor-agnostic
  transformers for fingerprint-based indoor localization", PerCom 2023, pp. 150-159. Text not
  reachable here: our design around the properties its title and paper C state.

("Not reachable" means: no stored copy of the paper and no public code of it could be found from
this workplace; paper C's official repository, ``Minh-Son-Nguyen/RSS_TL``, holds only a README
saying the code "will be made available soon".) None of the source papers' parameter counts were
available, so the tests pin the shapes and counts documented here, not the papers'.

Choices common to all four:

* **Input.** ``x`` is ``[batch, n_anchors]`` float, already scaled by the model's
  :attr:`~FingerprintNet.input_scaling` (see :data:`INPUT_SCALINGS`), in which a not-heard anchor
  (the datasets' ``+100``, the value paper C says it keeps, Sect. 4.1) is exactly 0. A different
  number of anchors than the model was built for is a ``ValueError`` -- except for bAaT, which
  is anchor-agnostic by design (see :class:`BAaT`). :meth:`FingerprintNet.check_input` checks a
  whole data set once (finite, within [0, 1]) so a forgotten scaling fails loudly; the forward
  pass checks shapes only, to stay free of device synchronisation.
* **Output.** ``out_dim`` (2: x, y in metres). The last layer predicts *standardised*
  coordinates; ``pos_mean``/``pos_scale`` buffers (0/1 by default, set with
  :func:`ipsbook.models.mtloc.set_position_scaling`) turn them into metres inside
  :meth:`~FingerprintNet.regressor`, so ``forward`` returns metres. Pass ``standardised=True`` to
  ``regressor``/``forward`` to get the standardised output (e.g. for a loss on standardised
  targets). With the default buffers the caller standardises outside.
* **Initialisation.** Keras defaults, as paper C (TensorFlow 2.11) and the CNNLoc code use:
  Glorot-uniform weights and zero biases for every linear and convolution layer.
* **No batch normalisation** anywhere (none in the CNNLoc code; for the others it would make
  ``Z^E`` depend on the batch, which paper C's batch-level constraints do not expect).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

__all__ = [
    "DNN",
    "INPUT_SCALINGS",
    "MODELS",
    "RSS_FLOOR_DBM",
    "SAE_MODELS",
    "BAaT",
    "BayesCNN",
    "CNNLoc",
    "FingerprintNet",
    "build",
    "layer_table",
    "parameter_count",
    "part_parameter_counts",
]

MODELS: tuple[str, ...] = ("dnn", "cnnloc", "bayescnn", "baat")

SAE_MODELS: tuple[str, ...] = ("cnnloc",)
"""The networks whose framer is a stacked auto-encoder's encoder, pre-trained as such before the
network is trained (they have ``sae_decoder()``; ``ipsbook.methods.mst.train.pretrain_framer``)."""

RSS_FLOOR_DBM = -110.0  # "linear01": readings at or below this floor count as 0 (not heard)

#: The input scalings the models expect, by the name stored in ``model.input_scaling``. ``r`` is
#: an RSS reading in dBm; the datasets' ``+100`` marks an anchor that was not heard.
INPUT_SCALINGS: dict[str, str] = {
    "linear01": (
        "not heard (+100) -> 0; heard r -> clip((r - RSS_FLOOR_DBM) / -RSS_FLOOR_DBM, 0, 1) with "
        "RSS_FLOOR_DBM = -110 dBm, so -110 dBm or weaker -> 0 and 0 dBm -> 1. Our choice for DNN, "
        "BayesCNN and bAaT, whose scaling we could not read in their papers."
    ),
    "cnnloc_powed": (
        "the CNNLoc authors' data_helper.normalizeX_powed with b = 2.8, the value their main.py "
        "sets (the function's default is 2.71828): r > 50 (the +100 marker) or r < -95 -> 0; "
        "r >= 0 -> 1; otherwise ((95 + r) / 95) ** 2.8."
    ),
}


def _check_pos_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer")
    return int(value)


def _check_dropout(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name}={value!r} must be a number in [0, 1)")
    return float(value)


def _keras_init(module: nn.Module) -> None:
    """Glorot-uniform weights and zero biases for linear and convolution layers (Keras defaults)."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def _check_2d(x: object, name: str, what: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor; got dtype {x.dtype}")
    if x.ndim != 2:
        hint = f" (use {name}[None, :] for a single one)" if x.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D [batch, {what}]; got shape {tuple(x.shape)}{hint}")
    return x


class FingerprintNet(nn.Module):
    """Common interface of the four networks (see the module docstring).

    Subclasses build ``framer_net``, ``extractor_net`` and ``regressor_net`` and set
    ``z_f_dim``/``z_e_dim``; this class validates inputs and composes the three parts.

    Attributes
    ----------
    name : the model's name in :data:`MODELS`.
    input_scaling : key of :data:`INPUT_SCALINGS` (the preprocessing module reads it).
    anchor_agnostic : whether inputs with another number of anchors are accepted (bAaT only).
    n_anchors : number of anchors (columns of ``x``) the model was built for.
    out_dim : output dimension (2 for x, y).
    z_f_dim, z_e_dim : flat sizes of ``Z^F`` and ``Z^E`` for ``n_anchors`` anchors.
    """

    name: ClassVar[str]
    input_scaling: ClassVar[str]
    anchor_agnostic: ClassVar[bool] = False

    framer_net: nn.Module
    extractor_net: nn.Module
    regressor_net: nn.Module
    z_f_dim: int
    z_e_dim: int

    def __init__(self, n_anchors: int, out_dim: int = 2) -> None:
        super().__init__()
        self.n_anchors = _check_pos_int("n_anchors", n_anchors)
        self.out_dim = _check_pos_int("out_dim", out_dim)
        self.register_buffer("pos_mean", torch.zeros(self.out_dim))
        self.register_buffer("pos_scale", torch.ones(self.out_dim))

    # -- input checks -------------------------------------------------------------------------
    def _check_x(self, x: object) -> torch.Tensor:
        x = _check_2d(x, "x", "n_anchors")
        if not self.anchor_agnostic and x.shape[1] != self.n_anchors:
            raise ValueError(
                f"x has {x.shape[1]} anchors per fingerprint; this {type(self).__name__} was "
                f"built for n_anchors={self.n_anchors} (a dataset with another anchor count "
                "needs its own model)"
            )
        if x.shape[1] < 1:
            raise ValueError("x has no anchor columns")
        return x

    def _check_z_f(self, z_f: object) -> torch.Tensor:
        z_f = _check_2d(z_f, "z_f", "z_f_dim")
        if z_f.shape[1] != self.z_f_dim:
            raise ValueError(
                f"z_f has {z_f.shape[1]} features; this {type(self).__name__} has "
                f"z_f_dim={self.z_f_dim}"
            )
        return z_f

    def _check_z_e(self, z_e: object) -> torch.Tensor:
        z_e = _check_2d(z_e, "z_e", "z_e_dim")
        if z_e.shape[1] != self.z_e_dim:
            raise ValueError(
                f"z_e has {z_e.shape[1]} features; this {type(self).__name__} has "
                f"z_e_dim={self.z_e_dim}"
            )
        return z_e

    def check_input(self, x: np.ndarray | torch.Tensor) -> None:
        """Raise ``ValueError`` unless ``x`` is a finite ``[n, n_anchors]`` array in [0, 1]: the
        shape the model takes and the range every entry of :data:`INPUT_SCALINGS` produces. Meant
        for a whole data set once (raw dBm with the +100 marker fails here)."""
        t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
        if not t.is_floating_point():
            t = t.double()
        self._check_x(t)
        if not bool(torch.isfinite(t).all()):
            raise ValueError("x has non-finite values (NaN or inf)")
        lo, hi = float(t.min()), float(t.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"x ranges over [{lo:g}, {hi:g}]; {type(self).__name__} expects inputs scaled to "
                f"[0, 1] by {self.input_scaling!r}: {INPUT_SCALINGS[self.input_scaling]}"
            )

    # -- the three parts ----------------------------------------------------------------------
    def framer(self, x: torch.Tensor) -> torch.Tensor:
        """F: ``[batch, n_anchors]`` scaled RSS -> ``Z^F`` ``[batch, z_f_dim]``."""
        return self.framer_net(self._check_x(x))

    def extractor(self, z_f: torch.Tensor) -> torch.Tensor:
        """E: ``Z^F`` ``[batch, z_f_dim]`` -> ``Z^E`` ``[batch, z_e_dim]``."""
        return self.extractor_net(self._check_z_f(z_f))

    def regressor(self, z_e: torch.Tensor, *, standardised: bool = False) -> torch.Tensor:
        """R: ``Z^E`` -> position ``[batch, out_dim]`` in metres (standardised if asked)."""
        y = self.regressor_net(self._check_z_e(z_e))
        return y if standardised else y * self.pos_scale + self.pos_mean

    def forward(self, x: torch.Tensor, *, standardised: bool = False) -> torch.Tensor:
        return self.regressor(self.extractor(self.framer(x)), standardised=standardised)

    def representations(
        self, x: torch.Tensor, *, standardised: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(Z^F, Z^E, Ŷ)`` of one pass (paper C, Algorithm 3 line 6)."""
        z_f = self.framer(x)
        z_e = self.extractor(z_f)
        return z_f, z_e, self.regressor(z_e, standardised=standardised)

    def extra_repr(self) -> str:
        return (
            f"n_anchors={self.n_anchors}, out_dim={self.out_dim}, z_f_dim={self.z_f_dim}, "
            f"z_e_dim={self.z_e_dim}, input_scaling={self.input_scaling!r}"
        )


# ---------------------------------------------------------------------------------------------
class DNN(FingerprintNet):
    """Fully connected network of Félix, Siller & Navarro Álvarez (ICUFN 2016), paper C's "DNN".

    The paper's text could not be read from this workplace (no stored copy), and paper C cites it
    only as a DNN-based fingerprinting method (Sect. 2), so widths, activation and dropout are our
    choice: a plain feed-forward ReLU network, the reading the title and paper C support.

    Layers (``n`` = ``n_anchors``; defaults ``hidden=(512, 256, 128)``, ``dropout=0.2``)::

        F  Linear(n, 512) - ReLU                                          Z^F: 512
        E  Dropout(0.2) - Linear(512, 256) - ReLU - Dropout(0.2)
           - Linear(256, 128) - ReLU                                      Z^E: 128
        R  Linear(128, out_dim)

    Cut: F is the one layer whose width depends on the dataset (it reads the anchor vector), E
    the anchor-independent body, R the linear output layer. Dropout (off in ``eval()``) sits at
    the start of each E layer so that ``Z^F`` and ``Z^E`` are the clean activations.
    Input scaling ``"linear01"`` (our choice). Parameters at 520 anchors: 431,234.
    """

    name = "dnn"
    input_scaling = "linear01"

    def __init__(
        self,
        n_anchors: int,
        out_dim: int = 2,
        hidden: tuple[int, ...] = (512, 256, 128),
        dropout: float = 0.2,
    ) -> None:
        super().__init__(n_anchors, out_dim)
        hidden = tuple(hidden)
        if len(hidden) < 2:
            raise ValueError(f"hidden={hidden!r} needs at least two widths (one for F, one for E)")
        widths = tuple(_check_pos_int("hidden", h) for h in hidden)
        self.hidden, self.dropout = widths, _check_dropout("dropout", dropout)
        self.framer_net = nn.Sequential(nn.Linear(self.n_anchors, widths[0]), nn.ReLU())
        body: list[nn.Module] = []
        for a, b in itertools.pairwise(widths):
            body += [nn.Dropout(self.dropout), nn.Linear(a, b), nn.ReLU()]
        self.extractor_net = nn.Sequential(*body)
        self.regressor_net = nn.Linear(widths[-1], self.out_dim)
        self.z_f_dim, self.z_e_dim = widths[0], widths[-1]
        _keras_init(self)


# ---------------------------------------------------------------------------------------------
class _Unsqueeze(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(self.dim)


class CNNLoc(FingerprintNet):
    """CNNLoc (Song et al., IEEE Access 2019): a stacked auto-encoder (SAE) followed by a 1-D CNN.

    Layers follow the authors' Keras code for the IEEE Access paper (``XudongSong/CNNLoc-Access``,
    ``encoder_model.py``: ``fnBuildAEModel`` and ``fnBuildLocationModel``; the same in
    ``XudongSong/CNNLoc``; the files are named ``AE_256_128`` but build 128 -> 64)::

        F  SAE encoder: Linear(n, 128) - ELU - Linear(128, 64) - ELU      Z^F: 64
        E  Dropout(0.7) - view [64 steps, 1 channel]
           - Conv1d(1, 99, 22) - ELU - Conv1d(99, 66, 22) - ELU
           - Conv1d(66, 33, 22) - ELU  (valid: 64 -> 43 -> 22 -> 1 steps)
           - flatten                                                       Z^E: 33
        R  Linear(33, out_dim)

    Cut: F is the SAE encoder, the part CNNLoc pre-trains to "extract key features from sparse
    [RSS] data" (abstract of the conference version, Song et al., SmartWorld 2019, paper C's
    ref. [30]) and the only part whose size depends on the dataset; E is the
    CNN; R the output layer. ``Z^E`` is 33-wide whatever the number of anchors.

    Differences from the authors' code, all deliberate:

    * Output: their ``Dense(2, activation='elu')`` regresses min-max-normalised coordinates in
      [0, 1]; we use a linear output on standardised coordinates (an ELU output cannot go below -1,
      standardised coordinates can).
    * SAE pre-training is a separate step, not part of the model:
      ``ipsbook.methods.mst.train.pretrain_framer`` puts :meth:`sae_decoder`'s fresh decoder
      ``Linear(64, 128) - ELU - Linear(128, n) - ELU`` (their ``de2``/``de-1``) behind the framer
      and trains ``decoder(model.framer(x)) ~ x`` with MSE on the training fingerprints, with their
      settings (``main.py``: 40 epochs; RMSprop at 1e-3; batch 66), then discards the decoder;
      everything is then fine-tuned, as in their code. Paper C's experiments
      (``ipsbook.methods.mst.experiment``, ``Settings.sae_epochs``) pre-train every CNNLoc they
      train from fresh weights. The decoder is not part of the model nor in its parameter count.

    Input scaling ``"cnnloc_powed"``: their ``normalizeX_powed``. Parameters at 520 anchors:
    269,052 (the same in Keras: no layer here has PyTorch-only parameters); decoder 75,400.
    """

    name = "cnnloc"
    input_scaling = "cnnloc_powed"

    SAE: ClassVar[tuple[int, int]] = (128, 64)
    CONV: ClassVar[tuple[tuple[int, int], ...]] = ((99, 22), (66, 22), (33, 22))

    def __init__(self, n_anchors: int, out_dim: int = 2, dropout: float = 0.7) -> None:
        super().__init__(n_anchors, out_dim)
        self.dropout = _check_dropout("dropout", dropout)
        h1, h2 = self.SAE
        self.framer_net = nn.Sequential(
            nn.Linear(self.n_anchors, h1), nn.ELU(), nn.Linear(h1, h2), nn.ELU()
        )
        layers: list[nn.Module] = [nn.Dropout(self.dropout), _Unsqueeze(1)]
        channels, steps = 1, h2
        for filters, kernel in self.CONV:
            layers += [nn.Conv1d(channels, filters, kernel), nn.ELU()]
            channels, steps = filters, steps - kernel + 1
        layers.append(nn.Flatten())
        self.extractor_net = nn.Sequential(*layers)
        self.regressor_net = nn.Linear(channels * steps, self.out_dim)
        self.z_f_dim, self.z_e_dim = h2, channels * steps
        _keras_init(self)

    def sae_decoder(self) -> nn.Sequential:
        """A freshly initialised SAE decoder ``Z^F`` (64) -> 128 -> ``n_anchors``, ELU after each
        layer as in the authors' code, for pre-training the framer as an auto-encoder."""
        h1, h2 = self.SAE
        dec = nn.Sequential(nn.Linear(h2, h1), nn.ELU(), nn.Linear(h1, self.n_anchors), nn.ELU())
        _keras_init(dec)
        return dec.to(self.pos_mean.device)


# ---------------------------------------------------------------------------------------------
def _vgg_block(c_in: int, c_out: int, convs: int) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for i in range(convs):
        # in place: a convolution's backward needs its input, not its output, so the ReLU may
        # overwrite it (one feature map less written and read per layer)
        layers += [nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1),
                   nn.ReLU(inplace=True)]
    layers.append(nn.MaxPool2d(2))
    return layers


class _ToImage(nn.Module):
    """``[batch, n]`` -> ``[batch, 1, side, side]``, zero-padded at the end (0 = not heard),
    in channels-last memory layout (see :class:`BayesCNN`)."""

    def __init__(self, n: int, side: int) -> None:
        super().__init__()
        self.n, self.side = n, side

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = self.side * self.side - self.n
        img = nn.functional.pad(x, (0, pad)).view(x.shape[0], 1, self.side, self.side)
        return img.contiguous(memory_format=torch.channels_last)


class _View(nn.Module):
    """``[batch, c * h * w]`` -> ``[batch, c, h, w]`` in channels-last memory layout."""

    def __init__(self, *shape: int) -> None:
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], *self.shape).contiguous(memory_format=torch.channels_last)


class BayesCNN(FingerprintNet):
    """Paper C's "BayesCNN": the VGG-block CNN of Sinha & Le (IPIN 2021).

    Sinha & Le's title says the architecture is designed *automatically* from VGG blocks; we read
    paper C's label "BayesCNN" as referring to that automated (Bayesian-optimisation) search. The
    paper's text could not be read from this workplace, so we do **not** rerun any search: we fix
    one plain VGG configuration. It is **not** a Bayesian neural network: no weight distributions,
    no Monte-Carlo dropout at test time (``eval()`` is deterministic).

    The fingerprint becomes a one-channel square image (the usual way to feed RSS vectors to a 2-D
    CNN): side ``s = max(4, ceil(sqrt(n)))``, anchors in their column order, row by row,
    zero-padded at the end (0 = not heard). ``s`` = 23, 32, 25 for 520, 992, 620 anchors.

    Layers (defaults ``channels=(32, 64)``, ``fc=128``, ``dropout=0.5``; VGG block = two 3x3
    convolutions with padding 1 and ReLU, then 2x2 max-pooling)::

        F  image [1, s, s] - VGG block(1 -> 32) - flatten                 Z^F: 32 * (s//2)^2
        E  view [32, s//2, s//2] - VGG block(32 -> 64) - flatten
           - Dropout(0.5) - Linear(64 * (s//4)^2, 128) - ReLU             Z^E: 128
        R  Linear(128, out_dim)

    Cut: F is the first block, the one that reads the anchor image (its output size depends on the
    dataset); E the second block and the fully connected layer (fixed 128-wide output); R the
    output layer. ``Z^F`` = 3,872 / 8,192 / 4,608 for 520 / 992 / 620 anchors.
    Input scaling ``"linear01"`` (our choice). Parameters at 520 anchors: 270,178.
    """

    name = "bayescnn"
    input_scaling = "linear01"

    def __init__(
        self,
        n_anchors: int,
        out_dim: int = 2,
        channels: tuple[int, int] = (32, 64),
        fc: int = 128,
        dropout: float = 0.5,
        convs_per_block: int = 2,
    ) -> None:
        super().__init__(n_anchors, out_dim)
        channels = tuple(channels)
        if len(channels) != 2:
            raise ValueError(
                f"channels={channels!r} must give two widths (block 1 in F, block 2 in E)"
            )
        c1, c2 = (_check_pos_int("channels", c) for c in channels)
        self.channels, self.fc = (c1, c2), _check_pos_int("fc", fc)
        self.dropout = _check_dropout("dropout", dropout)
        self.convs_per_block = _check_pos_int("convs_per_block", convs_per_block)
        self.side = max(4, math.ceil(math.sqrt(self.n_anchors)))
        s1, s2 = self.side // 2, self.side // 4
        self.framer_net = nn.Sequential(
            _ToImage(self.n_anchors, self.side), *_vgg_block(1, c1, self.convs_per_block),
            nn.Flatten(),
        )
        self.extractor_net = nn.Sequential(
            _View(c1, s1, s1), *_vgg_block(c1, c2, self.convs_per_block), nn.Flatten(),
            nn.Dropout(self.dropout), nn.Linear(c2 * s2 * s2, self.fc), nn.ReLU(),
        )
        self.regressor_net = nn.Linear(self.fc, self.out_dim)
        self.z_f_dim, self.z_e_dim = c1 * s1 * s1, self.fc
        _keras_init(self)
        # channels-last (NHWC) feature maps and kernels: oneDNN's convolutions and pooling run
        # faster in it on CPU; the values are the same, only the memory order differs.
        # Z^F stays the flat [batch, c * h * w] of the usual (NCHW) order.
        self.to(memory_format=torch.channels_last)


# ---------------------------------------------------------------------------------------------
def _sinusoidal(n_pos: int, dim: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Vaswani et al.'s fixed positional encoding ``[n_pos, dim]`` (sin on even, cos on odd)."""
    pos = torch.arange(n_pos, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32)
                     * (-math.log(10000.0) / dim))
    pe = torch.zeros(n_pos, dim, device=device, dtype=torch.float32)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return pe.to(dtype)


class _PatchFramer(nn.Module):
    """Any ``[batch, n]`` -> tokens ``[batch, ceil(n / patch) * d]`` (flat); empty patches -> 0."""

    def __init__(self, patch: int, d_model: int) -> None:
        super().__init__()
        self.patch, self.d_model = patch, d_model
        self.embed = nn.Linear(patch, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n = x.shape
        t = -(-n // self.patch)
        p = nn.functional.pad(x, (0, t * self.patch - n)).view(b, t, self.patch)
        tok = self.embed(p) + _sinusoidal(t, self.d_model, x.device, x.dtype)
        heard = (p != 0).any(dim=-1, keepdim=True)  # a patch of never-heard anchors carries nothing
        return (tok * heard).reshape(b, t * self.d_model)


class _WordLayer(nn.TransformerEncoderLayer):
    """A pre-norm encoder layer that computes on the *words that carry something* only.

    Same parameters, initialisation and maths as :class:`torch.nn.TransformerEncoderLayer`
    (``norm_first=True``, GELU): ``x + Dropout(SelfAttention(LayerNorm(x)))``, then
    ``x + Dropout(Linear(Dropout(GELU(Linear(LayerNorm(x))))))``. What differs is the layout
    (:class:`_Words`): per-word operations (layer norms, projections, feed-forward) run on the
    kept words packed into ``[n_kept, d]`` rows, and only attention sees them padded per
    fingerprint, with the padding masked as keys. With ``cls_only`` (the last layer) queries,
    output projection and feed-forward run for the [CLS] rows only, the one output
    :class:`_TransformerExtractor` returns."""

    def forward(self, x: torch.Tensor, words: _Words, cls_only: bool = False) -> torch.Tensor:  # type: ignore[override]
        sa = self.self_attn
        d, h = sa.embed_dim, sa.num_heads
        y = self.norm1(x)
        w, bias = sa.in_proj_weight, sa.in_proj_bias
        kv = nn.functional.linear(y, w[d:], bias[d:])                   # [n_kept, 2d]
        k, v = words.pad(kv).view(words.b, words.length, 2, h, d // h).unbind(2)
        if cls_only:
            x = x[words.cls_rows]
            q = nn.functional.linear(y[words.cls_rows], w[:d], bias[:d]).view(words.b, 1, h, -1)
        else:
            q = words.pad(nn.functional.linear(y, w[:d], bias[:d])).view(
                words.b, words.length, h, d // h)
        att = nn.functional.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
            attn_mask=words.key_mask, dropout_p=sa.dropout if self.training else 0.0,
        ).transpose(1, 2).reshape(words.b, -1, d)                      # [b, L or 1, d]
        att = att[:, 0] if cls_only else words.pack(att)
        x = x + self.dropout1(sa.out_proj(att))
        ff = self.linear2(self.dropout(self.activation(self.linear1(self.norm2(x)))))
        return x + self.dropout2(ff)


class _Words:
    """Which words of a batch carry something, and how to move between layouts: ``[n_kept, d]``
    packed rows (fingerprint after fingerprint, [CLS] first in each) and ``[b, length, d]``
    padded per fingerprint (``length`` = the most kept words of any fingerprint, [CLS]
    included), with ``key_mask`` ``[b, 1, 1, length]`` True on real words."""

    def __init__(self, keep: torch.Tensor) -> None:
        self.b = keep.shape[0]
        counts = keep.sum(dim=1)
        # one host read per batch: the padded length is data-dependent (a sync on CUDA)
        self.length = int(counts.max())
        slot = torch.arange(self.length, device=keep.device)
        valid = slot < counts[:, None]                                 # [b, length]
        self.key_mask = valid[:, None, None, :]
        self.rows = valid.flatten().nonzero().squeeze(1)               # packed -> padded row
        self.cls_rows = torch.cumsum(counts, 0) - counts               # packed rows of [CLS]
        # kept word positions, in order, [CLS] (position 0) first
        self.order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)[:, : self.length]

    def gather(self, seq: torch.Tensor) -> torch.Tensor:
        """``[b, T + 1, d]`` -> the kept words packed ``[n_kept, d]``."""
        d = seq.shape[-1]
        padded = seq.gather(1, self.order[..., None].expand(-1, -1, d))
        return padded.reshape(-1, d).index_select(0, self.rows)

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """Packed ``[n_kept, c]`` -> padded ``[b, length, c]`` (zeros in the padding)."""
        out = x.new_zeros(self.b * self.length, x.shape[1])
        return out.index_copy(0, self.rows, x).view(self.b, self.length, -1)

    def pack(self, x: torch.Tensor) -> torch.Tensor:
        """Padded ``[b, length, c]`` -> packed ``[n_kept, c]``."""
        return x.reshape(self.b * self.length, -1).index_select(0, self.rows)


class _TransformerExtractor(nn.Module):
    """Flat tokens -> [CLS] + pre-norm transformer encoder -> LayerNorm(CLS) ``[batch, d]``.

    Tokens that are exactly zero (empty patches, see :class:`_PatchFramer`) are masked out as
    attention keys, so they cannot change any other token or the [CLS] output. Since only the
    [CLS] output leaves the extractor, the encoder computes nothing for them: each layer
    (:class:`_WordLayer`) runs on the kept words only, and the last one on the [CLS] row
    only. The result is that of the full computation with the empty words masked (the
    parameters, initialisation and maths of ``nn.TransformerEncoderLayer``; the test
    ``tests/test_mst_speed.py`` holds the two together), at a fraction of its cost: a
    fingerprint of UJIIndoorLoc keeps 8.7 of its 33 words on average. Dropout draws its masks
    for the computed entries only, so a training run draws other random numbers than the
    full computation would (same distribution)."""

    def __init__(
        self, d_model: int, n_heads: int, n_layers: int, d_ff: int, dropout: float
    ) -> None:
        super().__init__()
        self.d_model = d_model
        self.cls = nn.Parameter(torch.zeros(1, 1, d_model))
        layer = _WordLayer(
            d_model, n_heads, d_ff, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        # nn.TransformerEncoder only holds the layers (its forward is not used): same module
        # tree, state_dict keys and initialisation as the plain encoder's
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, z_f: torch.Tensor) -> torch.Tensor:
        b = z_f.shape[0]
        tok = z_f.view(b, -1, self.d_model)
        keep = torch.cat(
            [torch.ones(b, 1, dtype=torch.bool, device=z_f.device), (tok != 0).any(dim=-1)], dim=1
        )
        words = _Words(keep)
        x = words.gather(torch.cat([self.cls.expand(b, -1, -1), tok], dim=1))
        layers = self.encoder.layers
        for i, layer in enumerate(layers):
            x = layer(x, words, cls_only=i == len(layers) - 1)
        return self.norm(x)


class BAaT(FingerprintNet):
    """Paper C's "bAaT": the anchor-agnostic transformer of Nguyen, Le & Havinga (PerCom 2023).

    The paper's text could not be read from this workplace, so this is our design around what its
    title and paper C state: a transformer encoder with dot-product self-attention (paper C, Sect.
    4.3, excludes ``J_FI`` for it because dot-product attention is not Lipschitz, Kim et al. 2021)
    that reads a fingerprint as a sequence of "words" and is **anchor-agnostic**: the same weights
    take fingerprints with any number of anchors. How:

    * the fingerprint is cut into "words" of ``patch`` consecutive anchors (zero-padded at the
      end); one shared ``Linear(patch, d_model)`` embeds every word, so no weight depends on the
      number of anchors (one token per anchor would also be anchor-agnostic, but 520-992 tokens
      make attention ~250x dearer; 16-anchor words give 33 / 62 / 39 tokens);
    * word order enters through fixed sinusoidal positional encodings, defined for any length;
    * a word in which no anchor was heard is set to the zero vector in ``Z^F`` and masked out as
      an attention key, so appending never-heard anchor columns (e.g. UJI-LIB's 172 columns that
      are empty in months 1-15) leaves the prediction unchanged (tested);
    * a learned [CLS] token summarises the sequence; its output is ``Z^E`` (``d_model`` wide for
      every dataset).

    Layers (defaults ``patch=16, d_model=128, n_heads=4, n_layers=2, d_ff=256, dropout=0.1``;
    ``T = ceil(n / 16)`` words)::

        F  pad to 16*T - view [T, 16] - Linear(16, 128) + sinusoidal PE
           - zero empty words - flatten                                    Z^F: T * 128
        E  view [T, 128] - prepend [CLS] - 2 x pre-norm encoder layer (4-head self-attention,
           GELU feed-forward 256, dropout 0.1; empty words masked) - LayerNorm([CLS])   Z^E: 128
        R  Linear(128, out_dim)

    Cut: F turns anchors into embedded words (the only size that depends on the dataset), E is the
    transformer, R the output layer. ``n_anchors`` fixes ``z_f_dim`` (4,224 / 7,936 / 4,992 for
    520 / 992 / 620 anchors); :meth:`framer` accepts any number and :meth:`extractor` any multiple
    of ``d_model``. Input scaling ``"linear01"`` (our choice; it makes "not heard" exactly 0,
    which the masking needs). Parameters (any anchor count): 267,778.
    """

    name = "baat"
    input_scaling = "linear01"
    anchor_agnostic = True

    def __init__(
        self,
        n_anchors: int,
        out_dim: int = 2,
        patch: int = 16,
        d_model: int = 128,
        n_heads: int = 4,
        n_layers: int = 2,
        d_ff: int = 256,
        dropout: float = 0.1,
    ) -> None:
        super().__init__(n_anchors, out_dim)
        self.patch = _check_pos_int("patch", patch)
        self.d_model = _check_pos_int("d_model", d_model)
        self.n_heads = _check_pos_int("n_heads", n_heads)
        self.n_layers = _check_pos_int("n_layers", n_layers)
        self.d_ff = _check_pos_int("d_ff", d_ff)
        self.dropout = _check_dropout("dropout", dropout)
        if self.d_model % self.n_heads or self.d_model % 2:
            raise ValueError(
                f"d_model={d_model} must be even and divisible by n_heads={n_heads}"
            )
        self.framer_net = _PatchFramer(self.patch, self.d_model)
        self.extractor_net = _TransformerExtractor(
            self.d_model, self.n_heads, self.n_layers, self.d_ff, self.dropout
        )
        self.regressor_net = nn.Linear(self.d_model, self.out_dim)
        self.z_f_dim = self.n_tokens(self.n_anchors) * self.d_model
        self.z_e_dim = self.d_model
        _keras_init(self)

    def n_tokens(self, n_anchors: int) -> int:
        """Words (tokens, [CLS] excluded) for a fingerprint of ``n_anchors`` anchors."""
        return -(-_check_pos_int("n_anchors", n_anchors) // self.patch)

    def _check_z_f(self, z_f: object) -> torch.Tensor:
        z_f = _check_2d(z_f, "z_f", "n_tokens * d_model")
        if z_f.shape[1] == 0 or z_f.shape[1] % self.d_model:
            raise ValueError(
                f"z_f has {z_f.shape[1]} features; bAaT takes n_tokens * d_model "
                f"(a positive multiple of d_model={self.d_model}; {self.z_f_dim} for "
                f"n_anchors={self.n_anchors})"
            )
        return z_f


# ---------------------------------------------------------------------------------------------
_BUILDERS: dict[str, Callable[..., FingerprintNet]] = {
    "dnn": DNN, "cnnloc": CNNLoc, "bayescnn": BayesCNN, "baat": BAaT,
}


def build(name: str, n_anchors: int, **kw: object) -> FingerprintNet:
    """The network ``name`` (one of :data:`MODELS`, case-insensitive) for ``n_anchors`` anchors;
    ``kw`` goes to its constructor (``out_dim`` and the per-model options)."""
    key = name.lower() if isinstance(name, str) else None
    if key not in _BUILDERS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return _BUILDERS[key](n_anchors, **kw)


def parameter_count(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of ``model`` (buffers such as ``pos_mean`` excluded)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def part_parameter_counts(model: FingerprintNet) -> dict[str, int]:
    """Parameters of F, E and R and their total."""
    out = {
        "framer": parameter_count(model.framer_net),
        "extractor": parameter_count(model.extractor_net),
        "regressor": parameter_count(model.regressor_net),
    }
    out["total"] = sum(out.values())
    return out


def layer_table(model: FingerprintNet, n_anchors: int | None = None) -> pd.DataFrame:
    """Every layer in execution order: part (F/E/R), layer, output shape (per fingerprint) and
    parameters, from one eval-mode pass on a fingerprint of ``n_anchors`` anchors (default: the
    model's) with one anchor heard. A transformer encoder layer is one row; parameters used
    outside any layer call (bAaT's [CLS] token) get a row of their own at the end of their part."""
    n = model.n_anchors if n_anchors is None else _check_pos_int("n_anchors", n_anchors)
    parts = {"F": model.framer_net, "E": model.extractor_net, "R": model.regressor_net}

    def leaves(m: nn.Module) -> list[nn.Module]:
        if isinstance(m, nn.TransformerEncoderLayer) or not list(m.children()):
            return [m]
        return [leaf for c in m.children() for leaf in leaves(c)]

    rows: list[dict[str, object]] = []
    hooks = []
    for part, net in parts.items():
        for leaf in leaves(net):
            def hook(m: nn.Module, _inp: object, out: torch.Tensor, part: str = part) -> None:
                rows.append({"part": part, "layer": type(m).__name__,
                             "output shape": tuple(out.shape[1:]),
                             "parameters": parameter_count(m)})
            hooks.append(leaf.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            x = torch.zeros(1, n, device=model.pos_mean.device)
            x[:, 0] = 0.5
            model(x)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    for part, net in parts.items():
        in_leaves = sum(parameter_count(leaf) for leaf in leaves(net))
        if parameter_count(net) != in_leaves:
            last = max(i for i, r in enumerate(rows) if r["part"] == part)
            rows.insert(last + 1, {
                "part": part, "layer": "other parameters (e.g. [CLS] token)",
                "output shape": (), "parameters": parameter_count(net) - in_leaves,
            })
    return pd.DataFrame(rows)
