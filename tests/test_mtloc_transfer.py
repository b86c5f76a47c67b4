"""The gate before paper E's transfer claims: did the pre-trained LSTM learn position?"""

from __future__ import annotations

import numpy as np
import pytest

from ipsbook.methods.mtloc.transfer import TRANSFER_GATE_MARGIN, gate, group_means


def _walk(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    pos = np.cumsum(rng.normal(0, 0.15, (n, 2)), axis=0)
    groups = np.arange(n) // 100  # 10 s blocks of 0.1 s windows
    e_mean = np.linalg.norm(pos - pos.mean(axis=0), axis=1)
    return rng, pos, groups, e_mean


def test_the_mean_itself_fails_the_gate() -> None:
    _, _, groups, e_mean = _walk()
    g = gate(e_mean, e_mean, groups)
    assert not g.passed
    assert g.ratio == pytest.approx(1.0)
    assert "learned no position" in g.describe()


def test_a_predictor_no_better_than_the_mean_fails() -> None:
    rng, pos, groups, e_mean = _walk()
    noisy = pos.mean(axis=0) + rng.normal(0, 0.5, pos.shape)  # the mean, jittered
    g = gate(np.linalg.norm(noisy - pos, axis=1), e_mean, groups)
    assert not g.passed


def test_a_predictor_that_knows_the_position_passes() -> None:
    rng, pos, groups, e_mean = _walk()
    good = pos + rng.normal(0, 0.5, pos.shape)
    g = gate(np.linalg.norm(good - pos, axis=1), e_mean, groups)
    assert g.passed
    assert g.interval.hi < 0


def test_the_margin_decides_a_small_gain() -> None:
    *_, groups, e_mean = _walk()
    slightly = 0.95 * e_mean  # 5 % better than the mean everywhere
    assert gate(slightly, e_mean, groups, margin=0.0).passed
    assert not gate(slightly, e_mean, groups, margin=TRANSFER_GATE_MARGIN).passed


def test_group_means_and_bad_input() -> None:
    assert np.allclose(group_means([1, 2, 3, 5], ["a", "a", "b", "b"]), [1.5, 4.0])
    with pytest.raises(ValueError, match="margin"):
        gate([1.0], [1.0], [0], margin=1.0)
    with pytest.raises(ValueError, match="paired"):
        gate([1.0, 2.0], [1.0], [0, 0])
