"""Spatially correlated log-normal shadowing (Gudmundson's exponential model) on a grid.

Gudmundson (Electronics Letters, 1991) models the normalised autocorrelation of shadowing in dB
between two places a distance ``d`` apart as ``exp(-d / d_SH)``; paper D's ``d_SH`` "separates
independent shadowing samples in the space". We synthesise a stationary Gaussian field with that
covariance by circulant embedding (FFT) on a torus padded by several ``d_SH`` so that the
wrap-around does not correlate opposite borders. Negative eigenvalues of the embedding (rare for
this kernel once padded) are set to zero; the field is then rescaled to the requested variance.
"""

from __future__ import annotations

import numpy as np

from .grid import Grid


def _embedding_spectrum(ny: int, nx: int, step: float, d_sh: float) -> np.ndarray:
    """Eigenvalues of the circulant covariance of the padded torus (normalised variance 1)."""
    dy = np.minimum(np.arange(ny), ny - np.arange(ny)) * step
    dx = np.minimum(np.arange(nx), nx - np.arange(nx)) * step
    dist = np.hypot(dy[:, None], dx[None, :])
    cov = np.exp(-dist / d_sh)
    lam = np.fft.fft2(cov).real
    return np.clip(lam, 0.0, None)


def correlated_field(
    grid: Grid,
    sigma_db: float,
    d_sh: float,
    rng: np.random.Generator,
    n_fields: int = 1,
    *,
    pad_factor: float = 4.0,
) -> np.ndarray:
    """``n_fields`` independent shadowing fields on ``grid``, shape ``(n_fields, ny, nx)``, in dB.

    Each is zero-mean Gaussian with standard deviation ``sigma_db`` and correlation
    ``exp(-distance / d_sh)``. ``d_sh == 0`` gives independent samples at each point.
    """
    if not np.isfinite(sigma_db) or sigma_db < 0:
        raise ValueError(f"sigma_SH={sigma_db!r} dB must be >= 0")
    if not np.isfinite(d_sh) or d_sh < 0:
        raise ValueError(f"d_SH={d_sh!r} m must be >= 0")
    ny, nx = grid.shape
    if sigma_db == 0:
        return np.zeros((n_fields, ny, nx))
    if d_sh == 0:
        return sigma_db * rng.standard_normal((n_fields, ny, nx))
    pad = int(np.ceil(pad_factor * d_sh / grid.step))
    my, mx = ny + pad, nx + pad
    sqrt_lam = np.sqrt(_embedding_spectrum(my, mx, grid.step, d_sh) / (my * mx))
    # Complex white noise filtered by sqrt of the spectrum gives two independent real fields.
    n_complex = (n_fields + 1) // 2
    noise = rng.standard_normal((n_complex, my, mx)) + 1j * rng.standard_normal((n_complex, my, mx))
    fields = np.fft.fft2(sqrt_lam * noise, axes=(-2, -1))
    both = np.concatenate([fields.real, fields.imag])[:n_fields, :ny, :nx]
    # Clipping negative eigenvalues changes the variance by a hair: restore it exactly.
    var = (sqrt_lam**2).sum() * (my * mx) / (my * mx)
    return sigma_db * both / np.sqrt(var)
