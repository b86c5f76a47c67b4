"""A uniform square grid over a rectangular area (metres)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_EPS = 1e-9


def _check_divides(name: str, length: float, step: float) -> int:
    """Number of intervals of ``step`` in ``length``; error if ``step`` does not divide it."""
    if not np.isfinite(step) or step <= 0:
        raise ValueError(f"{name}={step!r} must be a positive number of metres")
    if not np.isfinite(length) or length <= 0:
        raise ValueError(f"area side={length!r} must be a positive number of metres")
    n = round(length / step)
    if n < 1 or abs(n * step - length) > 1e-6 * max(1.0, length):
        raise ValueError(
            f"{name}={step!r} m does not divide the area side {length!r} m "
            f"(allowed: a step such that side/step is a whole number, e.g. "
            f"{length / max(1, round(length / step)):g} m)"
        )
    return int(n)


@dataclass(frozen=True)
class Grid:
    """Points ``(x, y)`` with spacing ``step`` covering ``[0, width] × [0, height]``, borders included.

    Points are ordered row by row (y outer, x inner), so ``values.reshape(grid.shape)`` is an image
    with rows along y.
    """

    width: float
    height: float
    step: float

    def __post_init__(self) -> None:
        _check_divides("grid resolution", self.width, self.step)
        _check_divides("grid resolution", self.height, self.step)

    @property
    def nx(self) -> int:
        return round(self.width / self.step) + 1

    @property
    def ny(self) -> int:
        return round(self.height / self.step) + 1

    @property
    def shape(self) -> tuple[int, int]:
        return (self.ny, self.nx)

    @property
    def size(self) -> int:
        return self.nx * self.ny

    @property
    def xs(self) -> np.ndarray:
        return np.arange(self.nx) * self.step

    @property
    def ys(self) -> np.ndarray:
        return np.arange(self.ny) * self.step

    @property
    def points(self) -> np.ndarray:
        """``(size, 2)`` array of coordinates in metres."""
        xx, yy = np.meshgrid(self.xs, self.ys)
        return np.column_stack([xx.ravel(), yy.ravel()])

    def index_of(self, points: np.ndarray) -> np.ndarray:
        """Flat index of the grid point nearest to each of ``points`` (clipped to the area)."""
        points = np.asarray(points, dtype=float)
        ix = np.clip(np.rint(points[:, 0] / self.step), 0, self.nx - 1).astype(np.intp)
        iy = np.clip(np.rint(points[:, 1] / self.step), 0, self.ny - 1).astype(np.intp)
        return iy * self.nx + ix

    def subgrid_index(self, coarse: Grid) -> np.ndarray:
        """Flat indices in this grid of every point of ``coarse`` (which must lie on this grid)."""
        ratio = coarse.step / self.step
        if abs(ratio - round(ratio)) > _EPS or coarse.width > self.width + _EPS:
            raise ValueError(
                f"grid resolution {coarse.step} m is not a multiple of {self.step} m; "
                "the fingerprint grid must lie on the test grid"
            )
        return self.index_of(coarse.points)
