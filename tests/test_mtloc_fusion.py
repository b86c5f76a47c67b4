"""The Wi-Fi + PDR Kalman filter beside MTLoc (beyond paper E)."""

from __future__ import annotations

import numpy as np
import pytest

from ipsbook.methods.mtloc.fusion import FusionConfig, kalman_track


def _walk(n=40, seed=0):
    rng = np.random.default_rng(seed)
    step_t = 500.0 * np.arange(1, n + 1)
    h = np.cumsum(rng.normal(0, 0.2, n))
    steps = 0.7 * np.column_stack([np.cos(h), np.sin(h)])
    truth = np.vstack([[0.0, 0.0], np.cumsum(steps, axis=0)]) + [5.0, 7.0]
    return step_t, steps, truth


def test_without_fixes_it_is_pdr() -> None:
    step_t, steps, truth = _walk()
    t = np.concatenate([[0.0], step_t])
    est = kalman_track(0.0, truth[0], step_t, steps, [], np.empty((0, 2)), t,
                       FusionConfig(step_sigma_m=0.3, fix_sigma_m=2.0))
    assert np.allclose(est, truth)
    # between steps it interpolates as PDR's track does
    mid = kalman_track(0.0, truth[0], step_t, steps, [], np.empty((0, 2)), [250.0])
    assert np.allclose(mid[0], (truth[0] + truth[1]) / 2)


def test_noise_free_fixes_are_followed() -> None:
    step_t, steps, truth = _walk()
    fix_t = step_t[4::5] + 10.0
    fix_xy = np.random.default_rng(1).uniform(0, 50, (len(fix_t), 2))  # fixes far from PDR
    est = kalman_track(0.0, truth[0], step_t, steps, fix_t, fix_xy, fix_t,
                       FusionConfig(step_sigma_m=0.3, fix_sigma_m=0.0))
    assert np.allclose(est, fix_xy)


def test_noisy_fixes_pull_part_of_the_way() -> None:
    step_t, steps, truth = _walk()
    fix_t, fix_xy = [step_t[9] + 1.0], [truth[10] + [10.0, 0.0]]
    cfg = FusionConfig(step_sigma_m=0.5, fix_sigma_m=2.0)
    est = kalman_track(0.0, truth[0], step_t, steps, fix_t, fix_xy, fix_t, cfg)[0]
    p = 10 * 0.5**2  # variance after 10 steps
    k = p / (p + 2.0**2)
    assert np.allclose(est, truth[10] + [10.0 * k, 0.0])
    assert 0 < k < 1


def test_filter_beats_pdr_with_a_heading_bias_given_unbiased_fixes() -> None:
    step_t, steps, truth = _walk(n=200, seed=3)
    rot = np.deg2rad(15.0)  # biased heading: PDR drifts
    R = np.array([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]])
    biased = steps @ R.T
    rng = np.random.default_rng(4)
    fix_t = step_t[::4] + 1.0
    fix_xy = truth[1::4] + rng.normal(0, 3.0, (len(fix_t), 2))
    t = step_t + 2.0
    pdr = kalman_track(0.0, truth[0], step_t, biased, [], np.empty((0, 2)), t)
    kf = kalman_track(0.0, truth[0], step_t, biased, fix_t, fix_xy, t,
                      FusionConfig(step_sigma_m=0.3, fix_sigma_m=3.0))
    err = lambda e: np.mean(np.linalg.norm(e - truth[1:], axis=1))
    assert err(kf) < 0.5 * err(pdr)


@pytest.mark.parametrize("name", ["step_sigma_m", "fix_sigma_m", "start_sigma_m"])
def test_bad_noise_is_named(name) -> None:
    with pytest.raises(ValueError, match=name):
        FusionConfig(**{name: -1.0})


def test_mismatched_events_are_rejected() -> None:
    with pytest.raises(ValueError, match="steps"):
        kalman_track(0.0, [0, 0], [1.0, 2.0], [[1, 0]], [], np.empty((0, 2)), [1.0])
