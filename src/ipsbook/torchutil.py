"""Torch plumbing shared by every chapter that trains a network: the device and a seeded,
deterministic training session that leaves the caller's global state as it found it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

__all__ = ["resolve_device", "torch_session"]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None``: CUDA when available, else CPU; otherwise the named device, checked."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a torch device: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} asked for, but CUDA is not available")
    return dev


@contextlib.contextmanager
def torch_session(seed: int, device: torch.device, num_threads: int | None = None) -> Iterator[None]:
    """Within the block: torch seeded with ``seed`` (inside :func:`torch.random.fork_rng`, so
    the global RNG state is restored afterwards), deterministic algorithms on CPU, and
    ``num_threads`` intra-op threads when given. Everything is restored on exit."""
    cuda_devices = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else []
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    was_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    was_threads = torch.get_num_threads()
    with torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(seed)
        if device.type == "cpu":
            torch.use_deterministic_algorithms(True)
        if num_threads is not None:
            torch.set_num_threads(num_threads)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(was_deterministic, warn_only=was_warn_only)
            torch.set_num_threads(was_threads)

