"""ipsbook.training: the plateau rule, the learning-rate schedule, best weights, the split."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ipsbook.training import Plateau, StopRule, validation_split


def test_stops_after_patience_epochs_without_improvement_and_keeps_the_best_weights():
    net = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    plateau = Plateau(StopRule(patience=3, lr_patience=2, lr_factor=0.5, min_delta=0.0),
                      optimizers=[opt], module=net)
    values = [5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 2.0]  # best at epoch 2, then three worse epochs
    stopped_at = None
    for epoch, v in enumerate(values):
        with torch.no_grad():
            net.weight.fill_(float(epoch))
        if plateau.update(epoch, v):
            stopped_at = epoch
            break
    assert stopped_at == 5 and plateau.best_epoch == 2 and plateau.best == 3.0
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)  # lowered once, after epoch 4
    assert plateau.lr_drops == [4]
    assert plateau.restore() and float(net.weight.detach()[0, 0]) == 2.0
    summary = plateau.summary(cap=len(values))
    assert summary["stopped"] == "plateau" and summary["epochs_run"] == 6
    assert summary["still_improving"] is False


def test_min_delta_is_relative_and_max_mode_works():
    p = Plateau(StopRule(patience=2, lr_patience=1, min_delta=0.01), mode="max")
    assert not p.update(0, 0.50)
    assert not p.update(1, 0.504)  # +0.8 %: not an improvement
    assert p.update(2, 0.505) and p.best_epoch == 0  # two epochs without one: stop
    q = Plateau(StopRule(patience=2, lr_patience=1, min_delta=0.01), mode="max")
    q.update(0, 0.50)
    q.update(1, 0.51)  # +2 %: improvement
    assert q.best_epoch == 1


def test_without_a_rule_it_only_records():
    net = torch.nn.Linear(1, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    p = Plateau(None, optimizers=[opt], module=net)
    for epoch, v in enumerate([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]):
        assert not p.update(epoch, v)
    assert p.best_epoch == 0 and opt.param_groups[0]["lr"] == 0.1
    assert p.summary(10)["stopped"] == "cap"


def test_still_improving_at_the_cap_is_flagged():
    p = Plateau(StopRule(patience=5, lr_patience=2))
    for epoch in range(6):
        p.update(epoch, 10.0 - epoch)
    assert p.still_improving(6)
    assert p.summary(6)["stopped"] == "cap"


def test_state_dict_resumes_to_the_same_decision():
    rule = StopRule(patience=3, lr_patience=1)
    values = [3.0, 2.0, 2.5, 2.4, 2.6, 1.0]
    a = Plateau(rule)
    ran_a = [e for e, v in enumerate(values) if not a.update(e, v)]
    b = Plateau(rule)
    for e, v in enumerate(values[:2]):
        b.update(e, v)
    c = Plateau(rule)
    c.load_state_dict(b.state_dict())
    stop_c = next(e for e, v in enumerate(values) if e >= 2 and c.update(e, v))
    assert stop_c == a.stopped_epoch == 4 and len(ran_a) == 5


@pytest.mark.parametrize("bad, match", [
    ({"patience": 0}, "patience=0"),
    ({"lr_factor": 0.0}, "lr_factor=0.0"),
    ({"val_fraction": 0.7}, "val_fraction=0.7"),
    ({"patience": 2, "lr_patience": 3}, "exceeds patience=2"),
    ({"min_delta": -0.1}, "min_delta=-0.1"),
])
def test_bad_rules_name_the_field(bad, match):
    with pytest.raises(ValueError, match=match):
        StopRule(**bad)


def test_rule_from_a_profile_mapping():
    assert StopRule.of(None) is None
    assert StopRule.of({"patience": 4, "lr_patience": 2}).patience == 4
    with pytest.raises(ValueError, match="unknown field"):
        StopRule.of({"patient": 4})


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 400), fraction=st.floats(0.01, 0.5), seed=st.integers(0, 10),
       n_groups=st.one_of(st.none(), st.integers(2, 40)))
def test_validation_split_is_a_seeded_partition_that_keeps_groups_whole(n, fraction, seed,
                                                                        n_groups):
    groups = None if n_groups is None else np.arange(n) % min(n_groups, n)
    if groups is not None and len(np.unique(groups)) < 2:
        return
    tr, va = validation_split(n, fraction, seed, groups)
    assert len(tr) and len(va)
    assert np.array_equal(np.sort(np.concatenate([tr, va])), np.arange(n))
    again = validation_split(n, fraction, seed, groups)
    assert np.array_equal(again[1], va)
    if groups is not None:
        assert not set(groups[tr]) & set(groups[va])
    else:
        assert abs(len(va) - fraction * n) <= 1 or len(va) in (1, n - 1)
