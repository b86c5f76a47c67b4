"""Paper C's constraints (ipsbook.methods.mst.losses): J_Sim, J_MI, J_FI, WGAN-GP, J_overall."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ipsbook.methods.mst import (
    ALPHA,
    JSDMIEstimator,
    angular_similarity_loss,
    combine_losses,
    expert_distilling_terms,
    functional_information,
    functional_integrity_loss,
    gradient_penalty,
    jsd_mi_lower_bound,
    mae_loss,
    mi_loss,
    normalise_lambdas,
    power_iteration,
    spectral_norm,
    top_eigenvalue,
    transmitting_matrix,
    wgan_critic_loss,
    wgan_generator_loss,
)
from ipsbook.methods.mst.losses import (
    SIM_MODES,
    mi_no_information,
    nearest_index,
    nearest_rows,
)

F64 = torch.float64


@pytest.fixture(autouse=True)
def _one_thread():
    """These tensors are tiny: one thread avoids oversubscription on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- power iteration / spectral norm ------------------------------------------------------------


@settings(max_examples=40, deadline=None, derandomize=True)
@given(m=st.integers(1, 24), n=st.integers(1, 24), seed=st.integers(0, 2**16))
def test_power_iteration_matches_matrix_2_norm(m, n, seed):
    g = _gen(seed)
    W = torch.randn(m, n, dtype=F64, generator=g)
    sigma, u = power_iteration(W, n_iter=500, generator=g)
    expected = torch.linalg.matrix_norm(W, ord=2)
    assert sigma.item() == pytest.approx(expected.item(), rel=1e-3)
    assert sigma.item() <= expected.item() * (1 + 1e-12)  # a Rayleigh estimate never overshoots
    assert u.shape == (m,) and u.norm().item() == pytest.approx(1.0)


def test_power_iteration_batched_and_float32():
    g = _gen(1)
    W = torch.randn(5, 7, 3, generator=g)  # float32, a batch of five 7x3 matrices
    sigma, u = power_iteration(W, n_iter=300, generator=g)
    assert sigma.shape == (5,) and u.shape == (5, 7)
    torch.testing.assert_close(sigma, torch.linalg.matrix_norm(W, ord=2), rtol=1e-3, atol=0)


def test_power_iteration_gradient_is_that_of_the_2_norm():
    g = _gen(2)
    W = torch.randn(6, 9, dtype=F64, generator=g, requires_grad=True)
    sigma, _ = power_iteration(W, n_iter=500, generator=g)
    (grad,) = torch.autograd.grad(sigma, W)
    W2 = W.detach().clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(torch.linalg.matrix_norm(W2, ord=2), W2)
    torch.testing.assert_close(grad, expected, rtol=1e-6, atol=1e-8)


def test_power_iteration_warm_start_needs_one_step():
    g = _gen(3)
    W = torch.randn(10, 4, dtype=F64, generator=g)
    _, u = power_iteration(W, n_iter=500, generator=g)
    sigma, _ = power_iteration(W, n_iter=1, u=u)
    assert sigma.item() == pytest.approx(torch.linalg.matrix_norm(W, ord=2).item(), rel=1e-9)
    with pytest.raises(ValueError, match="u has shape"):
        power_iteration(W, n_iter=1, u=torch.ones(4, dtype=F64))
    with pytest.raises(ValueError, match="n_iter"):
        power_iteration(W, n_iter=0)


def test_spectral_norm_of_linear_and_conv_weights():
    torch.manual_seed(4)
    lin = torch.nn.Linear(12, 5).double()
    conv = torch.nn.Conv1d(3, 8, kernel_size=5).double()
    for weight in (lin.weight, conv.weight):
        expected = torch.linalg.matrix_norm(weight.detach().reshape(weight.shape[0], -1), ord=2)
        got = spectral_norm(weight, n_iter=500, generator=_gen(0))
        assert got.item() == pytest.approx(expected.item(), rel=1e-6)
        assert got.requires_grad  # differentiable with respect to the layer's weight


def test_top_eigenvalue_of_a_psd_matrix():
    g = _gen(5)
    A = torch.randn(9, 6, dtype=F64, generator=g)
    T = A.T @ A
    lam = top_eigenvalue(T, n_iter=500, generator=g)
    assert lam.item() == pytest.approx(torch.linalg.eigvalsh(T)[-1].item(), rel=1e-8)
    with pytest.raises(ValueError, match="square"):
        top_eigenvalue(A)


# --- transmitting matrix and J_FI (eqs. 8, 9, 11, 15) --------------------------------------------


def _whitened(M: int, d: int, g: torch.Generator) -> torch.Tensor:
    """A batch (M, d), M >= d, with (1/M) Zᵀ Z = I exactly."""
    Q, _ = torch.linalg.qr(torch.randn(M, d, dtype=F64, generator=g))
    return Q * math.sqrt(M)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    d_in=st.integers(1, 12),
    d_out=st.integers(1, 12),
    extra=st.integers(0, 40),
    seed=st.integers(0, 2**16),
)
def test_transmitting_matrix_identity_on_a_linear_layer(d_in, d_out, extra, seed):
    """Eq. 15: Z_out = Z_in Wᵀ with whitened inputs gives T = W Wᵀ, so λ₁(T) = ‖W‖²_SN."""
    g = _gen(seed)
    M = d_in + extra
    Z_in = _whitened(M, d_in, g)
    W = torch.randn(d_out, d_in, dtype=F64, generator=g)
    Z_out = Z_in @ W.T
    T = transmitting_matrix(Z_in, Z_out, normalize="none")
    torch.testing.assert_close(T, W @ W.T, rtol=1e-9, atol=1e-9)
    sn = torch.linalg.matrix_norm(W, ord=2).item()
    assert top_eigenvalue(T, n_iter=500, generator=g).item() == pytest.approx(sn**2, rel=1e-3)
    fi = functional_information(Z_in, Z_out, n_iter=500, normalize="none", generator=g)
    assert fi.item() == pytest.approx(sn, rel=1e-3)
    # the paper's literal eq. 8 (no 1/M) with orthonormal (not √M-scaled) inputs: the same T
    T_sum = transmitting_matrix(
        Z_in / math.sqrt(M), Z_out / math.sqrt(M), normalize="none", batch_scale="sum"
    )
    torch.testing.assert_close(T_sum, W @ W.T, rtol=1e-9, atol=1e-9)


def test_transmitting_matrix_general_form_without_whitening():
    """Without the paper's assumption T = W G² Wᵀ with G = Z_inᵀZ_in/M: the identity needs G = I."""
    g = _gen(6)
    Z_in = torch.randn(50, 4, dtype=F64, generator=g) * torch.tensor(
        [1.0, 2.0, 0.5, 3.0], dtype=F64
    )
    W = torch.randn(3, 4, dtype=F64, generator=g)
    G = Z_in.T @ Z_in / 50
    T = transmitting_matrix(Z_in, Z_in @ W.T, normalize="none")
    torch.testing.assert_close(T, W @ G @ G @ W.T)
    assert not torch.allclose(T, W @ W.T, rtol=0.05)


def test_transmitting_matrix_sample_normalised_is_bounded_and_conv_maps_flatten():
    g = _gen(7)
    z_in = torch.randn(32, 3, 10, generator=g) * 100  # conv-like (B, C, L) maps, any scale
    z_out = torch.randn(32, 6, generator=g) * 1e-3
    T = transmitting_matrix(z_in, z_out)
    assert T.shape == (6, 6)
    torch.testing.assert_close(T, T.T)
    fi = functional_information(z_in, z_out, generator=g)
    assert 0.0 <= fi.item() <= 1.0 + 1e-6
    # invariant to the scale of each sample and to the order of the batch
    perm = torch.randperm(32, generator=g)
    scale = torch.rand(32, 1, generator=g) + 0.1
    T2 = transmitting_matrix(z_in[perm] * scale.unsqueeze(-1), z_out[perm] * scale)
    torch.testing.assert_close(T, T2, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="same batch"):
        transmitting_matrix(z_in, z_out[:5])


def test_functional_integrity_loss_sums_over_teachers_and_spares_them():
    g = _gen(8)
    zs_f = torch.randn(64, 8, generator=g, requires_grad=True)
    W_s = torch.randn(4, 8, generator=g)
    zs_e = torch.tanh(zs_f @ W_s.T)
    zg_f = torch.randn(64, 8, generator=g, requires_grad=True)
    zg_e = torch.relu(zg_f @ torch.randn(4, 8, generator=g).T)
    same = functional_integrity_loss((zs_f, zs_e), (zs_f, zs_e), generator=_gen(0))
    assert same.item() == pytest.approx(0.0, abs=1e-5)
    one = functional_integrity_loss((zs_f, zs_e), (zg_f, zg_e), generator=_gen(0))
    two = functional_integrity_loss((zs_f, zs_e), [(zg_f, zg_e), (zg_f, zg_e)], generator=_gen(0))
    assert one.item() > 0
    assert two.item() == pytest.approx(2 * one.item(), rel=1e-4)
    two.backward()
    assert zs_f.grad is not None and zs_f.grad.abs().sum() > 0
    assert zg_f.grad is None  # the frozen teachers get no gradient


# --- J_MI (eqs. 4, 13, 14) -----------------------------------------------------------------------


def test_jsd_bound_closed_values():
    zero = torch.zeros(10)
    # an uninformative critic (Ψ ≡ 0): -log 2 - log 2 = -log 4, the value at independence
    assert jsd_mi_lower_bound(zero, zero).item() == pytest.approx(-math.log(4))
    # a critic that separates joint from marginal perfectly approaches the maximum, 0
    assert jsd_mi_lower_bound(zero + 30, zero - 30).item() == pytest.approx(0.0, abs=1e-12)


def test_mi_loss_uses_the_cyclic_shift_of_algorithm_3():
    g = _gen(9)
    est = JSDMIEstimator(3, 2, hidden=8)
    zs, zt = torch.randn(6, 3, generator=g), torch.randn(6, 2, generator=g)
    product = torch.cat([zs[1:], zs[:1]])  # concat(Z_S[1:], Z_S[0])
    expected = -jsd_mi_lower_bound(est(zs, zt), est(product, zt))
    torch.testing.assert_close(mi_loss(est, zs, zt), expected)
    torch.testing.assert_close(mi_loss(est, zs, [zt, zt]), 2 * expected)  # Σ over teachers
    assert mi_loss(est, zs, zt, negatives="permute", generator=g).isfinite()
    with pytest.raises(ValueError, match="at least 2"):
        mi_loss(est, zs[:1], zt[:1])
    with pytest.raises(ValueError, match="built for"):
        est(zt, zs)


def _trained_bound(dependent: bool, seed: int) -> float:
    """Train Ψθ briefly on (a, b) pairs, then evaluate the bound on fresh pairs."""
    torch.manual_seed(seed)
    g = _gen(seed)
    est = JSDMIEstimator(4, 4, hidden=32)
    opt = torch.optim.Adam(est.parameters(), lr=3e-3)

    def sample(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        a = torch.randn(n, 4, generator=g)
        b = (
            a + 0.3 * torch.randn(n, 4, generator=g)
            if dependent
            else torch.randn(n, 4, generator=g)
        )
        return a, b

    for _ in range(120):
        loss = mi_loss(est, *sample(128))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return -mi_loss(est, *sample(2048)).item()


def test_jsd_estimator_higher_for_dependent_than_independent_pairs():
    dep, ind = _trained_bound(True, 0), _trained_bound(False, 0)
    assert dep > ind + 0.5
    assert ind == pytest.approx(-math.log(4), abs=0.05)  # no information to find
    assert -math.log(4) < dep <= 0.0


# --- J_Sim (eq. 1) -------------------------------------------------------------------------------


def _at_angle(theta: torch.Tensor, norm_a: float = 1.0, norm_b: float = 1.0):
    """Pairs of 3-D vectors (a random rotation of the plane) at the given angles."""
    a = torch.stack([torch.ones_like(theta), torch.zeros_like(theta), torch.zeros_like(theta)], 1)
    b = torch.stack([torch.cos(theta), torch.sin(theta), torch.zeros_like(theta)], 1)
    R, _ = torch.linalg.qr(torch.randn(3, 3, dtype=theta.dtype, generator=_gen(0)))
    return norm_a * a @ R.T, norm_b * b @ R.T


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    frac=st.floats(0.0, 0.999),
    beyond=st.floats(0.01, math.pi - ALPHA - 0.01),
    scale=st.floats(1e-2, 1e3),
)
def test_angular_similarity_hinge_zero_within_margin_positive_beyond(frac, beyond, scale):
    inside = torch.tensor([frac * ALPHA], dtype=F64)
    outside = torch.tensor([ALPHA + beyond], dtype=F64)
    hinge = {"mode": "hinge"}
    assert angular_similarity_loss(*_at_angle(inside, scale, 1 / scale), **hinge).item() == 0.0
    got = angular_similarity_loss(*_at_angle(outside, scale, 1 / scale), **hinge).item()
    assert got == pytest.approx(1 - math.cos(beyond), rel=1e-6)
    assert got > 0


def test_angular_similarity_hinge_batch_mean_teacher_sum_and_gradient():
    theta = torch.tensor([0.0, 0.1, 0.5, 1.2], dtype=F64)
    a, b = _at_angle(theta)
    expected = ((1 - torch.cos((theta - ALPHA).clamp_min(0))).mean()).item()
    got = angular_similarity_loss(a, b, mode="hinge").item()
    assert got == pytest.approx(expected, rel=1e-9)
    three = angular_similarity_loss(a, [b, b, b], mode="hinge").item()
    assert three == pytest.approx(3 * expected, rel=1e-9)
    # no gradient for pairs inside the margin, some for pairs outside
    a = a.clone().requires_grad_(True)
    angular_similarity_loss(a, b, mode="hinge").backward()
    assert a.grad[:2].abs().max().item() == 0.0 and a.grad[2:].abs().min().item() > 0


def test_angular_similarity_printed_is_eq1_batch_mean_then_arccos_then_margin():
    theta = torch.tensor([0.0, 0.3, 1.0], dtype=F64)
    a, b = _at_angle(theta)
    mean_cos = torch.cos(theta).mean()
    expected = 1 - torch.cos(torch.arccos(mean_cos) + ALPHA)
    assert angular_similarity_loss(a, b).item() == pytest.approx(expected.item(), rel=1e-9)
    assert angular_similarity_loss(a, b, mode="printed").item() == pytest.approx(
        expected.item(), rel=1e-9
    )  # the default is the printed form
    # several teachers: one printed J_Sim per teacher, summed (Algorithm 3, line 19)
    assert angular_similarity_loss(a, [b, b]).item() == pytest.approx(2 * expected.item())
    # the per-sample form takes one angle per pair: a different number on mixed angles ...
    per = angular_similarity_loss(a, b, mode="per-sample").item()
    assert per == pytest.approx((1 - torch.cos(theta + ALPHA)).mean().item(), rel=1e-7)
    assert abs(per - expected.item()) > 1e-3
    # ... and the same one when every pair has the same angle
    same = torch.full((4,), 0.7, dtype=F64)
    forms = [angular_similarity_loss(*_at_angle(same), mode=m).item()
             for m in ("printed", "per-sample")]
    assert forms[0] == pytest.approx(forms[1], rel=1e-9)


def test_angular_similarity_identical_embeddings_by_form():
    """arccos(1) = 0: the additive forms leave 1 - cos α (> 0; never zero for α > 0), the hinge
    form 0; at α = 0 all three are 0."""
    z = torch.randn(16, 5, dtype=F64, generator=_gen(3))
    floor = 1 - math.cos(ALPHA)
    assert angular_similarity_loss(z, 2.5 * z).item() == pytest.approx(floor, rel=1e-5)
    assert angular_similarity_loss(z, z, mode="per-sample").item() == pytest.approx(floor, rel=1e-5)
    assert angular_similarity_loss(z, z, mode="hinge").item() == 0.0
    for m in SIM_MODES:
        assert angular_similarity_loss(z, z, 0.0, mode=m).item() == pytest.approx(0.0, abs=1e-6)
    # opposite embeddings: arccos(-1) = π, so cos(π + α) = -cos α
    far = angular_similarity_loss(z, -z, mode="printed").item()
    assert far == pytest.approx(1 + math.cos(ALPHA), rel=1e-5)


def test_angular_similarity_printed_differs_from_hinge_inside_the_margin():
    theta = torch.full((8,), 0.5 * ALPHA, dtype=F64)
    a, b = _at_angle(theta)
    assert angular_similarity_loss(a, b, mode="hinge").item() == 0.0
    printed = angular_similarity_loss(a, b).item()
    assert printed == pytest.approx(1 - math.cos(1.5 * ALPHA), rel=1e-6) and printed > 0
    # and the printed form pulls towards agreement there, the hinge form does not
    a = a.clone().requires_grad_(True)
    angular_similarity_loss(a, b).backward()
    assert a.grad.abs().max().item() > 0


def test_angular_similarity_bad_mode_names_the_allowed_forms():
    theta = torch.tensor([0.0, 0.3, 1.0], dtype=F64)
    with pytest.raises(ValueError, match=r"sim_mode='arcface'.*'printed'.*'per-sample'.*'hinge'"):
        angular_similarity_loss(*_at_angle(theta), mode="arcface")
    with pytest.raises(ValueError, match="sim_mode='margin'"):  # the old names are gone
        angular_similarity_loss(*_at_angle(theta), mode="margin")
    with pytest.raises(ValueError, match="same number of features"):
        angular_similarity_loss(torch.ones(2, 3), torch.ones(2, 4))


# --- J_MI's no-information value ---------------------------------------------------------------


def _train_critic(dependent: bool, n_teachers: int, steps: int = 400) -> float:
    """Train Ψθ with mi_loss on fresh batches; return the mean loss of the last 100 steps."""
    g = torch.Generator().manual_seed(11)
    torch.manual_seed(11)
    est = JSDMIEstimator(3, 3, hidden=32)
    opt = torch.optim.Adam(est.parameters(), lr=3e-3)
    tail = []
    for step in range(steps):
        zs = torch.randn(128, 3, generator=g)
        zt = [zs + 0.1 * torch.randn(128, 3, generator=g) if dependent
              else torch.randn(128, 3, generator=g) for _ in range(n_teachers)]
        loss = mi_loss(est, zs, zt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step >= steps - 100:
            tail.append(loss.item())
    return sum(tail) / len(tail)


@pytest.mark.parametrize("n_teachers", [1, 2])
def test_mi_estimator_on_independent_pairs_converges_to_its_no_information_value(n_teachers):
    assert mi_no_information(n_teachers) == pytest.approx(n_teachers * math.log(4.0))
    assert mi_no_information(2) == pytest.approx(2.7725887, rel=1e-7)
    got = _train_critic(False, n_teachers)
    assert got == pytest.approx(mi_no_information(n_teachers), abs=0.03 * n_teachers)
    # dependent pairs: the critic finds the information and the loss falls well below
    assert _train_critic(True, n_teachers) < 0.5 * mi_no_information(n_teachers)
    with pytest.raises(ValueError, match="n_teachers"):
        mi_no_information(0)


# --- pairing of student and teacher rows ----------------------------------------------------


def test_nearest_pairing_picks_the_teacher_row_closest_in_angle():
    zs = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    zt = torch.tensor([[0.0, 3.0], [5.0, 0.1], [-1.0, 0.0]])
    assert nearest_index(zs, zt).tolist() == [1, 0, 1]
    assert torch.equal(nearest_rows(zs, zt), zt[[1, 0, 1]])
    with pytest.raises(ValueError, match="features"):
        nearest_index(zs, torch.ones(3, 4))
    # in Algorithm 3's terms: "row" pairs row k with row k, "nearest" with the closest draw
    student = (torch.randn(3, 4, generator=_gen(1)), zs)
    teacher = (torch.randn(3, 4, generator=_gen(2)), zt)
    row = expert_distilling_terms(student, [teacher], None, use_mi=False, use_fi=False)
    near = expert_distilling_terms(student, [teacher], None, use_mi=False, use_fi=False,
                                   pairing="nearest")
    assert row["j_sim"].item() == pytest.approx(angular_similarity_loss(zs, zt).item())
    assert near["j_sim"].item() == pytest.approx(
        angular_similarity_loss(zs, zt[[1, 0, 1]]).item())
    assert near["j_sim"].item() < row["j_sim"].item()
    with pytest.raises(ValueError, match="pairing='best'.*'row'.*'nearest'"):
        expert_distilling_terms(student, [teacher], None, pairing="best")


# --- WGAN-GP -------------------------------------------------------------------------------------


def test_gradient_penalty_zero_for_unit_norm_linear_critic_positive_otherwise():
    g = _gen(10)
    real, fake = torch.randn(64, 5, generator=g), torch.randn(64, 5, generator=g) + 3
    critic = torch.nn.Linear(5, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.randn(1, 5, generator=g))
        critic.weight /= critic.weight.norm()
    gp = gradient_penalty(critic, real, fake, generator=g)
    assert gp.item() == pytest.approx(0.0, abs=1e-8)
    with torch.no_grad():
        critic.weight *= 3.0  # ‖∇‖ = 3 everywhere: λ (3 - 1)² = 40
    gp = gradient_penalty(critic, real, fake, lambda_gp=10, generator=g)
    assert gp.item() == pytest.approx(40.0, rel=1e-5)
    gp.backward()  # differentiable in the critic's parameters
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0
    nonlinear = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    assert gradient_penalty(nonlinear, real, fake, generator=g).item() > 0


def test_gradient_penalty_on_a_pair_of_representation_spaces():
    """A critic of (Z^F, Z^E): the norm is over both inputs together."""
    g = _gen(11)
    w_f, w_e = torch.randn(6, generator=g), torch.randn(3, generator=g)
    scale = torch.cat([w_f, w_e]).norm()
    w_f, w_e = w_f / scale, w_e / scale  # the concatenated weight has unit norm

    def critic(zf: torch.Tensor, ze: torch.Tensor) -> torch.Tensor:
        return zf @ w_f + ze @ w_e

    real = (torch.randn(32, 6, generator=g), torch.randn(32, 3, generator=g))
    fake = (torch.randn(32, 6, generator=g), torch.randn(32, 3, generator=g))
    assert gradient_penalty(critic, real, fake, generator=g).item() == pytest.approx(0, abs=1e-8)
    with pytest.raises(ValueError, match="parts"):
        gradient_penalty(critic, real, fake[:1])
    with pytest.raises(ValueError, match="lambda_gp"):
        gradient_penalty(critic, real, fake, lambda_gp=-1.0)


def test_wgan_losses():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-1.0, 0.0])
    assert wgan_critic_loss(real, fake).item() == pytest.approx(-0.5 - 2.0)
    assert wgan_generator_loss(fake).item() == pytest.approx(0.5)


def test_mae_loss_is_the_mean_euclidean_error():
    y = torch.zeros(2, 2)
    assert mae_loss(torch.tensor([[3.0, 4.0], [0.0, 1.0]]), y).item() == pytest.approx(3.0)


# --- J_overall (eq. 12) and λ --------------------------------------------------------------------


def test_combine_losses_normalises_lambda_by_its_sum():
    one = torch.tensor(1.0)
    assert normalise_lambdas() == pytest.approx((2 / 3, 1 / 9, 1 / 9, 1 / 9))
    terms = torch.tensor([0.9, 0.2, -1.1, 0.05])
    got = combine_losses(*terms)
    assert got.item() == pytest.approx((3 * 0.9 + 0.5 * (0.2 - 1.1 + 0.05)) / 4.5)
    # bAaT++: only J_Sim and J_MI beside J_MAE; λ renormalised over the terms in use
    got = combine_losses(terms[0], terms[1], terms[2], None)
    assert got.item() == pytest.approx(0.75 * 0.9 + 0.125 * (0.2 - 1.1))
    assert combine_losses(one, lambdas=(2, 0, 0, 0)).item() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("lambdas", "match"),
    [
        ((3, 0.5, 0.5), "has 3 weights"),
        ((3, 0.5, 0.5, 0.5, 1), "has 5 weights"),
        ((3, -0.5, 0.5, 0.5), "negative"),
        ((3, 0.5, float("nan"), 0.5), "not finite"),
        (("a", 0.5, 0.5, 0.5), "not a sequence of numbers"),
        ((0, 0, 0, 0), "sum to 0"),
    ],
)
def test_bad_lambdas_raise_a_clear_error(lambdas, match):
    one = torch.tensor(1.0)
    with pytest.raises(ValueError, match=match) as info:
        combine_losses(one, one, one, one, lambdas=lambdas)
    message = str(info.value)
    assert "lambdas" in message and repr(tuple(lambdas)) in message
    if match != "sum to 0":
        assert "allowed: 4 finite weights >= 0" in message
    with pytest.raises(ValueError, match="at least one term"):
        combine_losses(None)


# --- one Expert Distilling batch (Algorithm 3, lines 6-25) ---------------------------------------


def test_expert_distilling_terms_one_step_updates_student_and_estimator():
    torch.manual_seed(12)
    framer, extractor, regressor = (
        torch.nn.Linear(20, 16),
        torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(16, 8)),
        torch.nn.Linear(8, 2),
    )
    teachers = [torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU()) for _ in range(2)]
    teacher_e = [torch.nn.Linear(16, 8) for _ in range(2)]
    est = JSDMIEstimator(8, 8, hidden=16)
    params = [
        *framer.parameters(),
        *extractor.parameters(),
        *regressor.parameters(),
        *est.parameters(),
    ]
    opt = torch.optim.Adam(params, lr=1e-3)
    x, y = torch.randn(32, 20), torch.randn(32, 2)
    zf = framer(x)
    ze = extractor(zf)
    with torch.no_grad():  # frozen surrogate teachers on noise
        noise = torch.randn(32, 4)
        t_pairs = [(f(noise), e(f(noise))) for f, e in zip(teachers, teacher_e, strict=True)]
    terms = expert_distilling_terms((zf, ze), t_pairs, est, generator=_gen(0))
    assert all(v is not None and v.isfinite() for v in terms.values())
    loss = combine_losses(mae_loss(regressor(ze), y), **terms)
    opt.zero_grad()
    loss.backward()
    assert framer.weight.grad.abs().sum() > 0 and est.net[0].weight.grad.abs().sum() > 0
    opt.step()
    baat = expert_distilling_terms((zf, ze), t_pairs, est, use_fi=False)
    assert baat["j_fi"] is None and baat["j_sim"] is not None and baat["j_mi"] is not None
    with pytest.raises(ValueError, match="estimator"):
        expert_distilling_terms((zf, ze), t_pairs, None)
