"""The walked-corridor split of paper E's chapter: blocks within traces, a gap between splits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipsbook.methods.mtloc.splits import GAP, block_ids, block_split, window_spans


def _samples(lengths_s, step_s=0.1):
    trace, t = [], []
    for i, n in enumerate(lengths_s):
        k = round(n / step_s)
        trace += [f"tr{i}"] * k
        t += list(3.0 + step_s * np.arange(k))  # traces start at an arbitrary time
    return np.array(trace, dtype=object), np.array(t)


def test_blocks_are_contiguous_and_labelled() -> None:
    trace, t = _samples([95.0, 40.0])
    ids = block_ids(trace, t, 10.0)
    assert len(set(ids)) == 10 + 4
    lab = block_split(trace, t, block_s=10.0, gap_s=1.0, seed=0)
    assert set(lab) <= {"train", "validation", "test", GAP}
    assert {"train", "validation", "test"} <= set(lab)
    # every block (apart from its dropped gap) has one label
    for b in set(ids):
        kept = set(lab[(ids == b) & (lab != GAP)])
        assert len(kept) == 1


def test_gap_only_where_the_split_changes() -> None:
    trace, t = _samples([200.0])
    lab = block_split(trace, t, block_s=10.0, gap_s=1.5, seed=3)
    ids = block_ids(trace, t, 10.0)
    blocks = sorted(set(ids), key=lambda b: int(b.split("#")[1]))
    main = {b: next(x for x in lab[ids == b] if x != GAP) for b in blocks}
    for prev, b in itertools.pairwise(blocks):
        rows = ids == b
        n_gap = int(np.sum(lab[rows] == GAP))
        if main[prev] == main[b]:
            assert n_gap == 0
        else:
            # 1.5 s of 0.1 s steps dropped at the block's start
            assert n_gap == 15
            assert np.all(t[rows][lab[rows] == GAP] < t[rows].min() + 1.5)


def test_no_window_spans_two_splits_but_without_the_gap_some_would() -> None:
    trace, t = _samples([300.0, 120.0])
    lab = block_split(trace, t, block_s=10.0, gap_s=1.0, seed=1)
    assert window_spans(trace, t, lab, window_s=1.0) == 0
    ungapped = lab.copy()
    ids = block_ids(trace, t, 10.0)
    for b in set(ids):  # undo the gap: give dropped samples their block's label back
        rows = ids == b
        ungapped[rows & (lab == GAP)] = next(x for x in lab[rows] if x != GAP)
    assert window_spans(trace, t, ungapped, window_s=1.0) > 0


def test_deterministic_and_seeded() -> None:
    trace, t = _samples([150.0, 80.0])
    a = block_split(trace, t, seed=4)
    assert np.array_equal(a, block_split(trace, t, seed=4))
    assert not np.array_equal(a, block_split(trace, t, seed=5))


@pytest.mark.parametrize(("kw", "match"), [
    ({"gap_s": 0.5, "window_s": 1.0}, "gap_s"),
    ({"block_s": 1.0, "gap_s": 1.0}, "block_s"),
    ({"block_s": -3.0}, "block_s"),
])
def test_bad_parameters_are_named(kw, match) -> None:
    trace, t = _samples([30.0])
    with pytest.raises(ValueError, match=match):
        block_split(trace, t, **kw)


@settings(max_examples=40, deadline=None)
@given(lengths=st.lists(st.floats(5.0, 120.0), min_size=1, max_size=5),
       block_s=st.floats(3.0, 30.0), window_s=st.floats(0.3, 2.0),
       extra=st.floats(0.0, 1.0), seed=st.integers(0, 1000))
def test_property_no_overlap_gap_and_no_spanning_window(lengths, block_s, window_s, extra,
                                                        seed) -> None:
    gap_s = window_s + extra
    if block_s <= gap_s:
        block_s = gap_s + 1.0
    trace, t = _samples(lengths)
    lab = block_split(trace, t, block_s=block_s, gap_s=gap_s, window_s=window_s, seed=seed)
    assert len(lab) == len(t)  # one label each: the splits cannot overlap
    assert window_spans(trace, t, lab, window_s=window_s) == 0
    # the gap holds: kept samples of two splits in one trace are more than gap_s apart
    for tid in np.unique(trace):
        rows = (trace == tid) & (lab != GAP)
        tt, ll = t[rows], lab[rows]
        o = np.argsort(tt)
        tt, ll = tt[o], ll[o]
        change = ll[1:] != ll[:-1]
        assert np.all(np.diff(tt)[change] >= gap_s - 1e-6)
