"""The packed Hamming search (paper D's fast path) against the dense NumPy reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ipsbook.methods.hamming import (
    distances_dense,
    nearest,
    pack_bits,
    search_ties,
    unpack_bits,
)

bits = st.integers(1, 150).flatmap(
    lambda nb: st.tuples(
        arrays(np.uint8, st.tuples(st.integers(1, 30), st.just(nb)), elements=st.integers(0, 1)),
        arrays(np.uint8, st.tuples(st.integers(1, 12), st.just(nb)), elements=st.integers(0, 1)),
        arrays(np.uint8, st.tuples(st.integers(1, 12), st.just(nb)), elements=st.integers(0, 1)),
    )
)


@given(bits)
@settings(max_examples=60, deadline=None)
def test_pack_roundtrip_and_search_ties_match_reference(data):
    codes, q, m = data
    n = min(len(q), len(m))
    q, m = q[:n], m[:n]
    assert np.array_equal(unpack_bits(pack_bits(codes), codes.shape[1]), codes)
    centres = np.arange(2 * len(codes), dtype=float).reshape(-1, 2) ** 1.5
    est, dmin, ties = search_ties(pack_bits(codes), pack_bits(q), pack_bits(m), centres)
    dense = distances_dense(q, m, codes)
    assert np.array_equal(dmin, dense.min(axis=1))
    for i in range(n):
        sel = dense[i] == dense[i].min()
        assert ties[i] == sel.sum()
        np.testing.assert_allclose(est[i], centres[sel].mean(axis=0))


@given(bits)
@settings(max_examples=60, deadline=None)
def test_nearest_returns_first_minimum(data):
    codes, q, _ = data
    idx, dmin = nearest(pack_bits(codes), pack_bits(q))
    dense = distances_dense(q, np.ones_like(q), codes)
    assert np.array_equal(idx, dense.argmin(axis=1))
    assert np.array_equal(dmin, dense.min(axis=1))


def test_erasures_are_ignored():
    codes = np.array([[1, 1, 0, 0], [0, 0, 1, 1]], dtype=np.uint8)
    q = np.array([[1, 0, 1, 0]], dtype=np.uint8)  # equidistant from both codes ...
    m_all = np.ones_like(q)
    m_first = np.array([[1, 0, 0, 0]], dtype=np.uint8)  # ... unless only bit 0 counts
    centres = np.array([[0.0, 0.0], [10.0, 10.0]])
    est, d, t = search_ties(pack_bits(codes), pack_bits(q), pack_bits(m_all), centres)
    assert d[0] == 2 and t[0] == 2 and np.allclose(est[0], [5, 5])  # eq. 6: tie average
    est, d, t = search_ties(pack_bits(codes), pack_bits(q), pack_bits(m_first), centres)
    assert d[0] == 0 and t[0] == 1 and np.allclose(est[0], [0, 0])
    m_none = np.zeros_like(q)  # all neutral: every code ties, estimate is the mean centre
    est, d, t = search_ties(pack_bits(codes), pack_bits(q), pack_bits(m_none), centres)
    assert d[0] == 0 and t[0] == 2 and np.allclose(est[0], [5, 5])


def test_bad_inputs_are_named():
    codes = pack_bits(np.ones((3, 5)))
    with pytest.raises(ValueError, match="codes must be a 2-D uint64"):
        nearest(np.ones((3, 1)), codes)
    with pytest.raises(ValueError, match="words per code"):
        nearest(codes, pack_bits(np.ones((2, 70))))
    with pytest.raises(ValueError, match="centres must be"):
        search_ties(codes, codes, codes, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="bits must be a 2-D"):
        pack_bits(np.ones(5))


@pytest.mark.parametrize("n_bits,n_codes,n_q", [(6, 1000, 37), (64, 700, 9), (40, 129, 5)])
def test_blocked_kernels_across_many_blocks_and_ties(n_bits, n_codes, n_q):
    """Codebooks spanning several 128-code blocks, with ties spread over blocks (few bits)."""
    rng = np.random.default_rng(n_bits)
    codes = rng.integers(0, 2, (n_codes, n_bits), dtype=np.uint8)
    q = rng.integers(0, 2, (n_q, n_bits), dtype=np.uint8)
    m = (rng.random((n_q, n_bits)) > 0.3).astype(np.uint8)
    centres = rng.normal(size=(n_codes, 2))
    dense = distances_dense(q, m, codes)
    est, dmin, ties = search_ties(pack_bits(codes), pack_bits(q), pack_bits(m), centres)
    assert np.array_equal(dmin, dense.min(axis=1))
    for i in range(n_q):
        sel = dense[i] == dense[i].min()
        assert ties[i] == sel.sum()
        np.testing.assert_allclose(est[i], centres[sel].mean(axis=0))
    idx, d1 = nearest(pack_bits(codes), pack_bits(q))
    full = distances_dense(q, np.ones_like(q), codes)
    assert np.array_equal(idx, full.argmin(axis=1)) and np.array_equal(d1, full.min(axis=1))
