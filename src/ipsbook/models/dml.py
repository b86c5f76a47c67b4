"""Embedding network φθ for deep metric learning on fingerprints (paper A, Study 3).

A plain MLP from an already-represented fingerprint (float, n × m) to an embedding in R^d.
Distances between embeddings are then compared with physical distances (log-ratio loss) or
binarised near/far labels (triplet, contrastive): see :mod:`ipsbook.methods.dml.losses`.

Why L2 normalisation is off by default: the log-ratio loss only sees *ratios* of embedding
distances, log(D(f_a, f_i) / D(f_a, f_j)), so multiplying every embedding by a constant changes
nothing and there is no scale to pin down (Kim et al., CVPR 2019, train it unnormalised too).
Normalising onto the unit sphere would only cap the largest distance (2) and bend the space
that is supposed to mirror a floor plan. The margin-based losses (triplet, contrastive) do need
it: without a fixed scale a margin can be met by inflating every distance, so training turns it
on for them, as Kim et al. do for their triplet baseline.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class EmbeddingMLP(nn.Module):
    """MLP ``in_dim → hidden… → out_dim`` with ReLU and dropout after each hidden layer.

    Parameters
    ----------
    in_dim : number of input features (access points).
    hidden : widths of the hidden layers (may be empty: a linear embedding).
    out_dim : embedding dimension d.
    dropout : dropout probability after each hidden ReLU (0 disables it).
    normalize : L2-normalise the output (off by default; see the module docstring).
    input_scale : inputs are multiplied by this before the first layer (a buffer, so it is saved
        with the model and applied again at inference); training sets it to 1 / max|X|.
    """

    def __init__(
        self,
        in_dim: int,
        hidden: Sequence[int] = (256, 128),
        out_dim: int = 32,
        dropout: float = 0.1,
        *,
        normalize: bool = False,
        input_scale: float = 1.0,
    ) -> None:
        super().__init__()
        _check_pos_int("in_dim", in_dim)
        _check_pos_int("out_dim", out_dim)
        hidden = tuple(hidden)
        for h in hidden:
            _check_pos_int("hidden", h)
        if not (isinstance(dropout, (int, float)) and 0.0 <= dropout < 1.0):
            raise ValueError(f"dropout={dropout!r} must be a number in [0, 1)")
        if not (isinstance(input_scale, (int, float)) and input_scale > 0):
            raise ValueError(f"input_scale={input_scale!r} must be a positive number")
        self.in_dim, self.hidden, self.out_dim = int(in_dim), hidden, int(out_dim)
        self.dropout, self.normalize = float(dropout), bool(normalize)
        layers: list[nn.Module] = []
        width = self.in_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, self.out_dim))
        self.net = nn.Sequential(*layers)
        self.register_buffer("input_scale", torch.tensor(float(input_scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_dim:
            raise ValueError(f"x has {x.shape[-1]} features; this model takes in_dim={self.in_dim}")
        z = self.net(x * self.input_scale)
        if self.normalize:
            z = nn.functional.normalize(z, dim=-1, eps=1e-12)
        return z

    def extra_repr(self) -> str:
        return f"normalize={self.normalize}"


def _check_pos_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer")
