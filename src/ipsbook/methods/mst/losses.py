"""The constraints of paper C (Nguyen et al., arXiv 2412.12189): multi-surrogate-teacher alignment.

Everything here is pure, vectorised PyTorch on batches; rows are samples. Equation numbers are
the paper's. Where the text extraction of the paper lost or garbled an equation, or where the
paper's own text is inconsistent, the reading used here is stated in the docstring concerned
("Reconstruction:") together with the original it was checked against.

Notation: ``B`` batch size; ``Z^F`` the Framer's output, ``Z^E`` the Extractor's output
(the "representation"); ``S`` the specialised (student) network, ``G_i`` the i-th surrogate
teacher, ``C_i`` its critic, ``Ψθ`` the mutual-information estimator.

Expert Training (Sect. 3.1)
    * :func:`gradient_penalty`, :func:`wgan_critic_loss`, :func:`wgan_generator_loss` —
      WGAN-GP (Gulrajani et al., NeurIPS 2017) for ``G_i`` / ``C_i``;
    * :func:`angular_similarity_loss` — J_Sim, eq. 1;
    * :func:`mae_loss` — one term of J_MAE, eq. 2 (J_MAE = mae(R(Z_S)) + mae(R(Z_G))).

Expert Distilling (Sect. 3.2, Algorithm 3)
    * :func:`angular_similarity_loss` — J_Sim again, summed over the teachers;
    * :class:`JSDMIEstimator`, :func:`jsd_mi_lower_bound`, :func:`mi_loss` — J_MI, eqs. 4/13/14;
    * :func:`power_iteration`, :func:`spectral_norm`, :func:`top_eigenvalue`,
      :func:`transmitting_matrix`, :func:`functional_information`,
      :func:`functional_integrity_loss` — J_FI, eqs. 6–11 and 15, App. F;
    * :func:`expert_distilling_terms` — lines 8–23 of Algorithm 3 for one batch;
    * :func:`combine_losses`, :func:`normalise_lambdas` — J_overall, eq. 12.

Two facts about the paper that matter when reading the results (stated, not "fixed", here):

* In Algorithm 3 the student's ``Z_S^E`` comes from the data batch and the teacher's ``Z_G^E``
  from fresh noise (line 5, "Initialize Noise"), so row k of one is drawn independently of row k
  of the other. The "joint" pairs J_MI scores are therefore, in distribution, pairs from the
  product of the marginals (true MI zero); whatever J_MI gains is Ψθ and S fitting the pairing of
  the current batch. The same holds for the row-wise pairing in J_Sim. The functions below
  compute what the paper writes, on whatever pairs the caller passes.
* Eq. 1, as printed, takes the batch mean of the dot products before one arccos and adds the
  margin, so it can never be zero for α > 0 (see :func:`angular_similarity_loss`). That
  printed form is the default; an angle per sample (``mode="per-sample"``) and the "zero within
  the margin" reading (``mode="hinge"``, this project's earlier default) are ablations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ALPHA",
    "DEFAULT_LAMBDAS",
    "PAIRINGS",
    "SIM_MODES",
    "JSDMIEstimator",
    "angular_similarity_loss",
    "check_sim_mode",
    "combine_losses",
    "expert_distilling_terms",
    "functional_information",
    "functional_integrity_loss",
    "gradient_penalty",
    "jsd_mi_lower_bound",
    "mae_loss",
    "mi_loss",
    "mi_no_information",
    "nearest_index",
    "nearest_rows",
    "normalise_lambdas",
    "power_iteration",
    "spectral_norm",
    "top_eigenvalue",
    "transmitting_matrix",
    "wgan_critic_loss",
    "wgan_generator_loss",
]

ALPHA = 0.2
"""The angular margin α of eq. 1, in radians (the paper's App. A grid search picked 0.2)."""

DEFAULT_LAMBDAS = (3.0, 0.5, 0.5, 0.5)
"""λ1..λ4 for (J_MAE, J_Sim, J_MI, J_FI) before normalisation (paper, App. A)."""

_TERMS = ("J_MAE", "J_Sim", "J_MI", "J_FI")

Tensors = torch.Tensor | Sequence[torch.Tensor]


# --- small helpers ----------------------------------------------------------------------------


def _flat(z: torch.Tensor, name: str) -> torch.Tensor:
    """``(B, ...)`` → ``(B, d)``: a feature map of any shape becomes one row per sample."""
    if not isinstance(z, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(z).__name__}")
    if z.ndim < 2:
        raise ValueError(f"{name} must have shape (batch, features...), got {tuple(z.shape)}")
    return z.reshape(z.shape[0], -1)


def _as_list(z: Tensors, name: str) -> list[torch.Tensor]:
    """One teacher's tensor or a sequence of them (one per teacher) → a non-empty list."""
    items = [z] if isinstance(z, torch.Tensor) else list(z)
    if not items:
        raise ValueError(f"{name} is empty: pass one tensor or a sequence with one per teacher")
    return items


def _check_positive_int(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r} must be an integer >= 1")
    return value


def _check_nonneg(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}={value!r} must be a finite number >= 0")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}={value!r} must be a finite number >= 0")
    return float(value)


def _unit(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Normalise along the last axis; an all-zero vector stays zero."""
    return x / x.norm(dim=-1, keepdim=True).clamp_min(eps)


# --- J_Sim (eq. 1) and J_MAE (eq. 2) ------------------------------------------------------------


SIM_MODES: tuple[str, ...] = ("printed", "per-sample", "hinge")
"""The forms of J_Sim (:func:`angular_similarity_loss`): ``"printed"`` is eq. 1 as printed (the
default everywhere); the other two are ablations."""


def check_sim_mode(mode: object) -> str:
    if mode not in SIM_MODES:
        raise ValueError(
            f"sim_mode={mode!r}: allowed are {', '.join(map(repr, SIM_MODES))} "
            "(eq. 1 as printed; an angle per sample; zero within the margin)"
        )
    return str(mode)


def angular_similarity_loss(
    z_student: Tensors,
    z_teacher: Tensors,
    margin: float = ALPHA,
    *,
    mode: str = "printed",
) -> torch.Tensor:
    """J_Sim of eq. 1: the angular-margin similarity between paired representations.

    With Ẑ the L2-normalised rows of ``z_student`` and ``z_teacher`` (each row flattened to a
    vector), c_k = Ẑ_{S,k}·Ẑ_{G,k} the cosine of the angle θ_k between the rows of pair k and
    α = ``margin``:

    * ``mode="printed"`` (default): eq. 1 exactly as printed,
      ``J = max(0, 1 − cos(arccos(c̄) + α))`` with ``c̄ = (1/B) Σ_k c_k`` — the paper defines
      Ẑ_S Ẑ_G as that batch mean, *then* takes one arccos. An ArcFace-style additive margin
      that makes agreement "harder" (the paper's words): since 1 − cos(·) ≥ 0 on [0, π] the
      max(0, ·) never acts there, and the value is ≥ 1 − cos α > 0 for every α > 0 (identical
      embeddings: arccos(1) = 0, J = 1 − cos α ≈ 0.0199 for α = 0.2). The slope in c̄ is
      sin(arccos c̄ + α)/√(1 − c̄²), unbounded as c̄ → 1: c̄ is clamped just inside ±1 (float
      eps), so at perfect agreement the gradient is large but finite. For arccos(c̄) > π − α the
      value falls again (1 − cos is not monotone past π); the printed formula has that too.
    * ``mode="per-sample"``: the same additive form with an angle per pair, averaged,
      ``J = mean_k max(0, 1 − cos(θ_k + α))``. Equal to ``"printed"`` when every pair has the
      same angle; otherwise not (arccos of a mean is not the mean of arccos).
    * ``mode="hinge"``: zero within the margin, ``J = mean_k [1 − cos(max(0, θ_k − α))]``:
      zero whenever θ_k ≤ α, increasing beyond it, gradient continuous at θ = α. It *tolerates*
      angles up to α, where the printed form penalises every angle; not what eq. 1 writes, kept
      as an ablation (it was this project's earlier default).

    The paper does not say how a per-sample form would reduce over the batch; we take the mean.

    ``z_teacher`` may be one tensor or a sequence with one tensor per teacher; then
    ``z_student`` is one tensor (the same student representation for every teacher, as in
    Algorithm 3, line 18) or a sequence of the same length, and the per-teacher losses are
    summed (Algorithm 3, line 19).

    Args:
        z_student: ``(B, ...)`` representations Z_S^E.
        z_teacher: ``(B, ...)`` representations Z_G^E (same shape), or a sequence of them.
        margin: α in radians, ``0 <= α < π`` (the paper uses 0.2).
        mode: one of :data:`SIM_MODES`, see above.

    Returns:
        A scalar tensor.
    """
    margin = _check_nonneg(margin, "margin")
    if margin >= math.pi:
        raise ValueError(f"margin={margin!r} must be an angle in radians in [0, π)")
    mode = check_sim_mode(mode)
    teachers = _as_list(z_teacher, "z_teacher")
    if isinstance(z_student, torch.Tensor):
        students = [z_student] * len(teachers)
    else:
        students = _as_list(z_student, "z_student")
        if len(students) != len(teachers):
            raise ValueError(
                f"got {len(students)} student and {len(teachers)} teacher representations; "
                "pass one student tensor or one per teacher"
            )
    total = None
    for zs, zt in zip(students, teachers, strict=True):
        a, b = _flat(zs, "z_student"), _flat(zt, "z_teacher")
        if a.shape != b.shape:
            raise ValueError(
                f"z_student {tuple(zs.shape)} and z_teacher {tuple(zt.shape)} must pair row by "
                "row with the same number of features"
            )
        cos = F.cosine_similarity(a, b, dim=1, eps=1e-12)
        if mode == "printed":
            cos = cos.mean(dim=0, keepdim=True)  # eq. 1: the batch mean before the arccos
        # arccos has an infinite slope at ±1: clamp just inside (float32 eps ≈ 1.2e-7)
        tiny = torch.finfo(cos.dtype).eps
        theta = torch.arccos(cos.clamp(-1.0 + tiny, 1.0 - tiny))
        if mode == "hinge":
            per = 1.0 - torch.cos((theta - margin).clamp_min(0.0))
        else:
            per = (1.0 - torch.cos(theta + margin)).clamp_min(0.0)
        loss = per.mean()
        total = loss if total is None else total + loss
    return total


def mae_loss(y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
    """One term of eq. 2: the mean Euclidean distance ``(1/B) Σ_k ‖Y_k − Ŷ_k‖₂``.

    The paper calls it "MAE" but eq. 2 and its evaluation metric use the Euclidean norm of the
    2-D error, not the mean absolute coordinate error. In Expert Training J_MAE is the sum of
    this for ``R_i^S(Z_S^E)`` and for ``R_i^S(Z_G^E)``; in Expert Distilling it is this for the
    student's prediction (Algorithm 3, line 7).
    """
    if y_pred.shape != y_true.shape or y_pred.ndim != 2:
        raise ValueError(
            f"y_pred {tuple(y_pred.shape)} and y_true {tuple(y_true.shape)} must both be (B, 2)"
        )
    return (y_pred - y_true).norm(dim=1).mean()


# --- J_MI (eqs. 4, 13, 14) ----------------------------------------------------------------------


class JSDMIEstimator(nn.Module):
    """Ψθ: a critic scoring pairs ``(z_a, z_b)`` for the JSD mutual-information bound.

    The paper gives Ψθ no architecture, only its role: Ψθ : Z_G^E × Z_S^E → ℝ, one global
    estimator shared by all N teachers, estimating the log density ratio
    log p(Z_G | Z_S)/p(Z_G) (App. D). We use the "concatenate and score" critic of Deep InfoMax's
    global objective (Hjelm et al., ICLR 2019): the two (flattened) vectors are concatenated and
    passed through an MLP with ReLU hidden layers (Hjelm et al. use two hidden layers of 512
    units; ``hidden`` and ``n_hidden`` make that a choice) to one scalar score per pair.

    ``forward(z_a, z_b)`` → ``(B,)`` scores. Algorithm 3 calls Ψθ(Z_S^E, Z_G^E) (student
    first); :func:`mi_loss` does the same. The critic is symmetric in role only through
    training; which argument comes first must stay fixed once it is trained.
    """

    def __init__(self, dim_a: int, dim_b: int, hidden: int = 512, n_hidden: int = 2) -> None:
        super().__init__()
        for name, value in (("dim_a", dim_a), ("dim_b", dim_b), ("hidden", hidden)):
            _check_positive_int(value, name)
        if isinstance(n_hidden, bool) or not isinstance(n_hidden, int) or n_hidden < 0:
            raise ValueError(f"n_hidden={n_hidden!r} must be an integer >= 0")
        self.dim_a, self.dim_b = dim_a, dim_b
        layers: list[nn.Module] = []
        width = dim_a + dim_b
        for _ in range(n_hidden):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        a, b = _flat(z_a, "z_a"), _flat(z_b, "z_b")
        if a.shape[0] != b.shape[0]:
            raise ValueError(f"z_a has {a.shape[0]} rows, z_b {b.shape[0]}: pairs need both equal")
        if a.shape[1] != self.dim_a or b.shape[1] != self.dim_b:
            raise ValueError(
                f"JSDMIEstimator was built for ({self.dim_a}, {self.dim_b}) features, got "
                f"({a.shape[1]}, {b.shape[1]})"
            )
        return self.net(torch.cat([a, b], dim=1)).squeeze(1)


def jsd_mi_lower_bound(scores_joint: torch.Tensor, scores_marginal: torch.Tensor) -> torch.Tensor:
    """The Jensen–Shannon MI estimator of Hjelm et al. (their eq. 4), the paper's eqs. 4/14.

    ``Î = E_joint[−softplus(−Ψ)] − E_marginal[softplus(Ψ)]``, with softplus(x) = log(1 + eˣ),
    i.e. exactly the bracketed terms of the paper's eq. 4 / eq. 14 for one teacher; the
    expectations are batch means.

    Reconstruction: App. D (eq. 13–14) calls this quantity D_JS. For the optimal critic
    Ψ = log p/q (p the joint, q the product of marginals) it equals 2·D_JS(p‖q) − log 4, so it
    lies in [−log 4, 0]: −log 4 ≈ −1.386 for independent pairs, approaching 0 as the joint and
    the product separate. It is monotone in D_JS, which is why maximising either is the same;
    for any other critic it is a lower bound of that value. (Eq. 13's second expectation, as
    extracted, has log p/m under the product measure; it must be log q/m for the identity.)
    """
    return -F.softplus(-scores_joint).mean() - F.softplus(scores_marginal).mean()


def _negatives(
    z: torch.Tensor, how: Literal["roll", "permute"], generator: torch.Generator | None
) -> torch.Tensor:
    if z.shape[0] < 2:
        raise ValueError(f"mutual information needs a batch of at least 2 rows, got {z.shape[0]}")
    if how == "roll":
        # Algorithm 3, line 13: concat(Z[1:], Z[0]) — a cyclic shift, no row keeps its partner
        return torch.roll(z, shifts=-1, dims=0)
    if how == "permute":
        perm = torch.randperm(z.shape[0], generator=generator, device="cpu").to(z.device)
        return z[perm]
    raise ValueError(f"negatives={how!r}: allowed are 'roll' and 'permute'")


def mi_loss(
    estimator: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    z_student: torch.Tensor,
    z_teacher: Tensors,
    *,
    negatives: Literal["roll", "permute"] = "roll",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """J_MI as a loss to minimise: ``−Σ_i Î_JSD(Z_S^E; Z_{G_i}^E)`` (eq. 4, Algorithm 3 13–17).

    For each teacher i: joint scores Ψθ(Z_S, Z_Gi) on the pairs as given (row k with row k);
    product-of-marginals scores Ψθ(Z̃_S, Z_Gi) with Z̃_S the student rows shuffled within the
    batch — by default the cyclic shift of Algorithm 3 (line 13), or a random permutation
    (``negatives="permute"``, as Deep InfoMax draws negatives; it may leave a few rows in place).
    One estimator is shared by all teachers (the paper's "one global estimator Ψθ").

    The paper's eq. 4 defines J_MI as the bound itself (to be maximised); this returns its
    negative so that every term of :func:`combine_losses` is minimised. Minimising it with
    respect to both Ψθ and the student raises the bound for both, as in Deep InfoMax: put Ψθ's
    parameters in the optimiser too (Algorithm 3 initialises Ψθ but only lists S as updated).
    """
    teachers = _as_list(z_teacher, "z_teacher")
    zs = _flat(z_student, "z_student")
    shuffled = _negatives(zs, negatives, generator)
    total = None
    for zt in teachers:
        zt = _flat(zt, "z_teacher")
        if zt.shape[0] != zs.shape[0]:
            raise ValueError(
                f"z_student has {zs.shape[0]} rows, a z_teacher {zt.shape[0]}: pairs need both equal"
            )
        bound = jsd_mi_lower_bound(estimator(zs, zt), estimator(shuffled, zt))
        total = -bound if total is None else total - bound
    return total


def mi_no_information(n_teachers: int = 1) -> float:
    """J_MI's no-information value: what :func:`mi_loss` is worth when Ψθ cannot tell the joint
    pairs from the shuffled ones — ``N · ln 4`` for N teachers (2·ln 4 ≈ 2.773 for two).

    Derivation. Per teacher, :func:`mi_loss` is L(Ψ) = E_joint[softplus(−Ψ)] +
    E_marginal[softplus(Ψ)]. When the "joint" pairs are drawn from the product of the marginals
    (independent rows — what Algorithm 3's data rows and fresh noise draws are), both
    expectations are over the same distribution P, so L = E_P[f(Ψ)] with
    f(x) = softplus(x) + softplus(−x). f is convex and even, f'(x) = σ(x) − σ(−x) vanishes only
    at x = 0, and f(0) = 2·ln 2 = ln 4; hence L ≥ ln 4 for *every* critic, with equality for
    Ψ ≡ 0. Summed over N teachers: N·ln 4. (Equivalently, the JSD bound of
    :func:`jsd_mi_lower_bound` is ≤ −ln 4 there, its value at D_JS = 0.) On one finite batch a
    critic can dip below it by fitting that batch's pairing; in expectation over fresh batches
    it cannot, so a J_MI that stays at N·ln 4 says the constraint carries no signal.
    """
    return _check_positive_int(n_teachers, "n_teachers") * math.log(4.0)


# --- spectral norm, power iteration (App. F; Miyato et al. 2018) ---------------------------------


def _init_vector(
    shape: tuple[int, ...], like: torch.Tensor, generator: torch.Generator | None
) -> torch.Tensor:
    if generator is None:
        return torch.randn(shape, dtype=like.dtype, device=like.device)
    return torch.randn(shape, dtype=like.dtype, generator=generator, device="cpu").to(like.device)


def power_iteration(
    W: torch.Tensor,
    n_iter: int = 20,
    u: torch.Tensor | None = None,
    *,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top singular value σ₁(W) by power iteration, differentiable in ``W``.

    Following Miyato et al. (ICLR 2018, Algorithm 1): starting from ``u`` (random normal if not
    given), repeat ``n_iter`` times ``v ← Wᵀu/‖Wᵀu‖``, ``u ← Wv/‖Wv‖``; then ``σ = uᵀWv``.
    The iterations run without autograd on a detached copy; only the final ``σ = uᵀWv`` is
    differentiated, giving ∂σ/∂W = u vᵀ — the exact gradient of σ₁ once u, v have converged
    (σ₁ simple). This is cheaper and better conditioned than back-propagating through the loop
    (what the paper's TensorFlow pseudocode and LONDON's code do, see :func:`top_eigenvalue`).
    Return ``u`` and pass it back next call to warm-start (Miyato uses one iteration per
    training step that way).

    ``W`` may carry leading batch axes ``(..., m, n)``; ``u`` is then ``(..., m)``.
    Convergence is geometric in (σ₂/σ₁)²; the estimate never exceeds σ₁.

    Returns:
        ``(sigma, u)``: ``sigma`` of shape ``W.shape[:-2]`` and the left vector ``u``
        (detached), to reuse.
    """
    _check_positive_int(n_iter, "n_iter")
    if not isinstance(W, torch.Tensor) or W.ndim < 2:
        raise ValueError("W must be a tensor of shape (..., m, n)")
    Wd = W.detach()
    if u is None:
        u = _init_vector(Wd.shape[:-1], Wd, generator)
    elif u.shape != Wd.shape[:-1]:
        raise ValueError(f"u has shape {tuple(u.shape)}, expected {tuple(Wd.shape[:-1])}")
    with torch.no_grad():
        u = _unit(u.to(Wd.dtype))
        for _ in range(n_iter):
            v = _unit((Wd.mT @ u.unsqueeze(-1)).squeeze(-1))
            u = _unit((Wd @ v.unsqueeze(-1)).squeeze(-1))
    sigma = (u.unsqueeze(-2) @ W @ v.unsqueeze(-1)).squeeze(-1).squeeze(-1)
    return sigma, u


def spectral_norm(
    weight: torch.Tensor,
    n_iter: int = 20,
    u: torch.Tensor | None = None,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """‖W‖_SN of a linear or convolution weight (eq. 6), by :func:`power_iteration`.

    A convolution kernel ``(out, in, k...)`` is reshaped to the ``(out, in·k...)`` matrix, as in
    Miyato et al. and the paper's Sect. 3.2 ("a parameter matrix of o × chw"). This is the
    spectral norm of that matrix, which is the usual surrogate for — not equal to — the
    operator norm of the convolution itself.
    """
    if not isinstance(weight, torch.Tensor) or weight.ndim < 2:
        raise ValueError("weight must be a linear (out, in) or conv (out, in, k...) weight tensor")
    sigma, _ = power_iteration(weight.reshape(weight.shape[0], -1), n_iter, u, generator=generator)
    return sigma


def top_eigenvalue(
    T: torch.Tensor,
    n_iter: int = 20,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The largest eigenvalue λ₁ of a symmetric positive semi-definite ``T`` (``(..., d, d)``).

    Power iteration ``v ← Tv/‖Tv‖`` (detached, random normal start), then the differentiable
    Rayleigh quotient ``λ₁ = vᵀTv`` (gradient v vᵀ at convergence).

    Reconstruction of App. F, Algorithm 1 ("top_eigenvalue"): the paper's pseudocode starts
    from a ``T.shape``-sized random matrix and normalises rows, which we read as the plain
    single-vector power iteration on T (as LONDON's code, Shang et al. ICCV 2021, does per
    sample); it *returns* ``sqrt(μ)`` — the square root of the eigenvalue, i.e. the spectral
    norm of the matrix T was built from. This function returns λ₁ itself;
    :func:`functional_information` takes the square root, as Algorithm 1 does.
    """
    _check_positive_int(n_iter, "n_iter")
    if not isinstance(T, torch.Tensor) or T.ndim < 2 or T.shape[-1] != T.shape[-2]:
        raise ValueError("T must be a square matrix (..., d, d)")
    Td = T.detach()
    with torch.no_grad():
        v = _unit(_init_vector(Td.shape[:-1], Td, generator))
        for _ in range(n_iter):
            v = _unit((Td @ v.unsqueeze(-1)).squeeze(-1))
    return (v.unsqueeze(-2) @ T @ v.unsqueeze(-1)).squeeze(-1).squeeze(-1)


# --- J_FI (eqs. 6–11, 15) ----------------------------------------------------------------------


def transmitting_matrix(
    z_in: torch.Tensor,
    z_out: torch.Tensor,
    *,
    normalize: Literal["sample", "none"] = "sample",
    batch_scale: Literal["mean", "sum"] = "mean",
) -> torch.Tensor:
    """T_j of eq. 8: the Gram matrix of the input–output cross-correlation of a block.

    With Z_in ``(M, d_in)`` and Z_out ``(M, d_out)`` the batches of M feature vectors before and
    after a block (trailing axes of a conv feature map are flattened into the feature axis):

        A = Ẑ_inᵀ Ẑ_out / c  ∈ ℝ^{d_in × d_out},      T = Aᵀ A  ∈ ℝ^{d_out × d_out},

    where Ẑ = Z/‖Z‖₂ row by row (``normalize="sample"``, the paper's "∀Ẑ = Z/‖Z‖₂") or Ẑ = Z
    (``"none"``), and c = M (``batch_scale="mean"``) or 1 (``"sum"``, eq. 8 literally).
    T is symmetric positive semi-definite and λ₁(T) = σ₁(A)². This is a *feature-based*
    (data-dependent, weight-free) quantity: it needs only the block's input and output batches,
    which is how the paper computes it for whole blocks (Framer → Extractor, eq. 11).

    Reconstruction. The paper writes Ẑ ∈ ℝ^{d×M} and A = Ẑ_{j−1}ᵀ Ẑ_j, which contracts over
    the feature axis and only type-checks when d_in = d_out; we contract over the batch axis
    (Ẑ_{j−1}Ẑ_jᵀ in the paper's orientation), which works for any block shape and is what the
    cited source does: LONDON (Shang et al., ICCV 2021) forms, per sample, the FSP matrix of
    input and output channels contracted over spatial positions and divided by their number —
    our c = M is that 1/HW, and makes T independent of the batch size.

    The identity the tests check (eq. 15, exact under its assumption). For a bias-free linear
    layer Z_out = Z_in Wᵀ with ``normalize="none"``: A = (Z_inᵀZ_in / c) Wᵀ, so
    T = W (Z_inᵀZ_in / c)² Wᵀ. Under the paper's assumption that the input features are
    mutually orthonormal over the batch — here Z_inᵀZ_in / c = I, i.e. whitened inputs for
    ``batch_scale="mean"`` — T = W Wᵀ, whose top eigenvalue is ‖W‖²_SN (eq. 10, where the
    paper writes σ₁(T) = ‖W‖_SN but means its square root, which Algorithm 1 returns).
    With per-sample normalisation the output rows are rescaled by data-dependent factors, so
    the identity no longer holds exactly; σ₁(A) then measures how consistently the block maps
    input directions to output directions and lies in [0, 1] for ``batch_scale="mean"``.
    """
    if normalize not in ("sample", "none"):
        raise ValueError(f"normalize={normalize!r}: allowed are 'sample' and 'none'")
    if batch_scale not in ("mean", "sum"):
        raise ValueError(f"batch_scale={batch_scale!r}: allowed are 'mean' and 'sum'")
    a, b = _flat(z_in, "z_in"), _flat(z_out, "z_out")
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"z_in has {a.shape[0]} rows and z_out {b.shape[0]}: both must be the same batch"
        )
    if normalize == "sample":
        a, b = _unit(a), _unit(b)
    A = a.mT @ b
    if batch_scale == "mean":
        A = A / a.shape[0]
    return A.mT @ A


def functional_information(
    z_in: torch.Tensor,
    z_out: torch.Tensor,
    n_iter: int = 20,
    *,
    normalize: Literal["sample", "none"] = "sample",
    batch_scale: Literal["mean", "sum"] = "mean",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """FI = sqrt(λ₁(T)) for one block (Algorithm 3 lines 8–9 and 20–21; App. F's return value).

    The block's "spectral norm" ‖E‖_SN as eq. 11 uses it: :func:`top_eigenvalue` of
    :func:`transmitting_matrix`, square-rooted as Algorithm 1 returns it. Equal to σ₁(A) of
    :func:`transmitting_matrix`; on a linear layer with whitened inputs and
    ``normalize="none"`` it is ‖W‖_SN.
    """
    T = transmitting_matrix(z_in, z_out, normalize=normalize, batch_scale=batch_scale)
    lam = top_eigenvalue(T, n_iter, generator=generator)
    return torch.sqrt(lam.clamp_min(torch.finfo(lam.dtype).tiny))


def functional_integrity_loss(
    student: tuple[torch.Tensor, torch.Tensor],
    teachers: tuple[torch.Tensor, torch.Tensor] | Sequence[tuple[torch.Tensor, torch.Tensor]],
    n_iter: int = 20,
    *,
    normalize: Literal["sample", "none"] = "sample",
    batch_scale: Literal["mean", "sum"] = "mean",
    detach_teachers: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """J_FI of eq. 11: ``Σ_i | FI(Z_{G_i}^F, Z_{G_i}^E) − FI(Z_S^F, Z_S^E) |``.

    ``student`` is the pair (Z_S^F, Z_S^E) — input and output of the student's Extractor;
    ``teachers`` one pair (Z_G^F, Z_G^E) or a sequence of them. FI is
    :func:`functional_information` (σ₁ of the block's transmitting matrix). Eq. 11's ‖·‖₂ of a
    scalar difference is its absolute value. (LONDON uses a squared difference; the paper
    writes a norm.) The paper calls J_FI "Functional Information"; the project names it
    "functional integrity". The teachers are frozen in Expert Distilling, so their FI is
    detached by default (no gradient flows into G_i).

    A consequence of the sum of absolute differences: its slope in FI_S is (number of teachers
    with FI below FI_S) − (number above), so with two teachers J_FI is *flat* — zero gradient
    into the student — whenever the student's FI lies between the two teachers' (their median
    set). Paper C's setting always has two teachers.
    """
    pairs = list(teachers)
    if pairs and isinstance(pairs[0], torch.Tensor):  # a single (Z^F, Z^E) pair
        pairs = [tuple(pairs)]
    if not pairs or any(len(p) != 2 for p in pairs):
        raise ValueError("teachers must be one (Z^F, Z^E) pair or a non-empty sequence of pairs")

    def fi(zf: torch.Tensor, ze: torch.Tensor) -> torch.Tensor:
        return functional_information(
            zf, ze, n_iter, normalize=normalize, batch_scale=batch_scale, generator=generator
        )

    fi_s = fi(*student)
    total = None
    for zf, ze in pairs:
        if detach_teachers:
            with torch.no_grad():
                fi_g = fi(zf, ze)
        else:
            fi_g = fi(zf, ze)
        term = (fi_g - fi_s).abs()
        total = term if total is None else total + term
    return total


# --- Expert Distilling, one batch (Algorithm 3, lines 8–23) --------------------------------------


PAIRINGS: tuple[str, ...] = ("row", "nearest")
"""How :func:`expert_distilling_terms` pairs student rows with a teacher's rows for J_Sim and J_MI:
``"row"`` (Algorithm 3 as written) or ``"nearest"`` (:func:`nearest_rows`)."""


def nearest_rows(query: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
    """The rows of ``pool`` nearest in angle to each row of ``query``: row k of the result is the
    row of ``pool`` with the largest cosine similarity to ``query[k]`` (ties: the first). The
    choice is made without gradient; the chosen rows keep theirs. Rows may repeat."""
    return pool[nearest_index(query, pool)]


def nearest_index(query: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
    """For each row of ``query`` the index of the row of ``pool`` nearest to it in angle
    (largest cosine similarity; ties: the first), without gradient."""
    q, p = _flat(query, "query"), _flat(pool, "pool")
    if q.shape[1] != p.shape[1]:
        raise ValueError(f"query has {q.shape[1]} features, pool {p.shape[1]}: they must match")
    with torch.no_grad():
        return (_unit(q.detach()) @ _unit(p.detach()).T).argmax(dim=1)


def expert_distilling_terms(
    student: tuple[torch.Tensor, torch.Tensor],
    teachers: Sequence[tuple[torch.Tensor, torch.Tensor]],
    estimator: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None,
    *,
    use_sim: bool = True,
    use_mi: bool = True,
    use_fi: bool = True,
    margin: float = ALPHA,
    sim_mode: str = "printed",
    negatives: Literal["roll", "permute"] = "roll",
    pairing: str = "row",
    n_iter: int = 20,
    fi_normalize: Literal["sample", "none"] = "sample",
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor | None]:
    """J_Sim, J_MI and J_FI of one batch, summed over the N teachers (Algorithm 3, 8–23).

    ``student`` = (Z_S^F, Z_S^E) of the batch; ``teachers`` = [(Z_{G_i}^F, Z_{G_i}^E)] from the
    frozen surrogate teachers on noise of the same batch size. A disabled term is ``None``
    (bAaT++: ``use_fi=False``; the ablations of Table 2). Pass the result to
    :func:`combine_losses` as ``combine_losses(j_mae, **terms)``.

    ``pairing`` (one of :data:`PAIRINGS`) decides which teacher row student row k meets in J_Sim
    and J_MI. ``"row"``: row k of each, as Algorithm 3 writes it — the student's rows come from
    data, the teacher's from fresh noise, so the pairs are independent and J_MI's "joint" pairs
    are draws from the product of the marginals (its value cannot fall below
    :func:`mi_no_information` in expectation). ``"nearest"``: the teacher's row nearest in
    angle to student row k (:func:`nearest_rows`, chosen anew each batch), which makes the pair
    depend on the student row — the same reading as Expert Training's ``pairing="nearest"``
    (:mod:`.teachers`). J_FI reads each block's own batch and is the same under both.

    Returns:
        ``{"j_sim": ..., "j_mi": ..., "j_fi": ...}`` (each a scalar tensor or ``None``).
    """
    teachers = list(teachers)
    if not teachers:
        raise ValueError(
            "teachers is empty: Expert Distilling needs at least one surrogate teacher"
        )
    if pairing not in PAIRINGS:
        raise ValueError(f"pairing={pairing!r}: allowed are {', '.join(map(repr, PAIRINGS))}")
    z_e = [ze for _, ze in teachers]
    if pairing == "nearest":
        z_e = [nearest_rows(student[1], ze) for ze in z_e]
    out: dict[str, torch.Tensor | None] = {"j_sim": None, "j_mi": None, "j_fi": None}
    if use_sim:
        out["j_sim"] = angular_similarity_loss(student[1], z_e, margin, mode=sim_mode)
    if use_mi:
        if estimator is None:
            raise ValueError("use_mi=True needs the estimator Ψθ (a JSDMIEstimator)")
        out["j_mi"] = mi_loss(estimator, student[1], z_e, negatives=negatives, generator=generator)
    if use_fi:
        out["j_fi"] = functional_integrity_loss(
            student, teachers, n_iter, normalize=fi_normalize, generator=generator
        )
    return out


# --- J_overall (eq. 12) -------------------------------------------------------------------------


def _validate_lambdas(lambdas: Sequence[float]) -> tuple[float, ...]:
    allowed = (
        "allowed: 4 finite weights >= 0 for (J_MAE, J_Sim, J_MI, J_FI), "
        "e.g. the paper's (3, 0.5, 0.5, 0.5)"
    )
    try:
        values = tuple(float(x) for x in lambdas)
    except (TypeError, ValueError):
        raise ValueError(f"lambdas={lambdas!r} is not a sequence of numbers; {allowed}") from None
    if len(values) != 4:
        raise ValueError(f"lambdas={lambdas!r} has {len(values)} weights; {allowed}")
    for k, x in enumerate(values):
        if not math.isfinite(x) or x < 0:
            raise ValueError(
                f"lambdas={lambdas!r}: λ{k + 1} ({_TERMS[k]}) = {x!r} is "
                f"{'negative' if x < 0 else 'not finite'}; {allowed}"
            )
    return values


def normalise_lambdas(
    lambdas: Sequence[float] = DEFAULT_LAMBDAS,
    active: Sequence[bool] = (True, True, True, True),
) -> tuple[float, float, float, float]:
    """λ̄_t = λ_t / Σ_k λ_k (eq. 12), the sum over the *active* terms; inactive ones get 0.

    The paper: "λ̄_t = λ_t / Σ_{k=1}^4 λ_k" and (App. A) "these weighting factors are normalised
    together". When a term is switched off (bAaT++ has no J_FI; the ablations of Table 2 drop
    more) the paper does not say whether its λ stays in the denominator; we renormalise over
    the terms actually used, so the weights always sum to 1. (The choice only rescales the
    whole loss — by 4/4.5 for bAaT++ with the default λ — which Adam is nearly insensitive to.)
    The paper's λ = (3, .5, .5, .5) gives (2/3, 1/9, 1/9, 1/9); without J_FI (3/4, 1/8, 1/8, 0).

    Raises:
        ValueError: ``lambdas`` not 4 finite non-negative numbers, or all active weights zero.
    """
    values = _validate_lambdas(lambdas)
    active = tuple(bool(a) for a in active)
    if len(active) != 4:
        raise ValueError(f"active={active!r} must have 4 flags (J_MAE, J_Sim, J_MI, J_FI)")
    total = sum(v for v, a in zip(values, active, strict=True) if a)
    if total <= 0:
        used = [t for t, a in zip(_TERMS, active, strict=True) if a]
        raise ValueError(
            f"lambdas={lambdas!r}: the weights of the terms in use ({', '.join(used) or 'none'}) "
            "sum to 0; allowed: at least one positive weight among the terms in use"
        )
    return tuple(v / total if a else 0.0 for v, a in zip(values, active, strict=True))


def combine_losses(
    j_mae: torch.Tensor | None,
    j_sim: torch.Tensor | None = None,
    j_mi: torch.Tensor | None = None,
    j_fi: torch.Tensor | None = None,
    lambdas: Sequence[float] = DEFAULT_LAMBDAS,
) -> torch.Tensor:
    """J_overall = λ̄1·J_MAE + λ̄2·J_Sim + λ̄3·J_MI + λ̄4·J_FI (eq. 12).

    A term passed as ``None`` is not used and its λ leaves the normalisation (see
    :func:`normalise_lambdas`): bAaT++ is ``combine_losses(j_mae, j_sim, j_mi, None)``, and
    the paper's λ = (3, 0.5, 0.5, 0.5) then weighs (3/4, 1/8, 1/8). ``j_mi`` is the loss of
    :func:`mi_loss` (the negative bound), so every term is minimised.

    Raises:
        ValueError: ``lambdas`` of the wrong length, negative or non-finite, all terms ``None``,
            or all weights of the given terms zero.
    """
    terms = (j_mae, j_sim, j_mi, j_fi)
    active = tuple(t is not None for t in terms)
    if not any(active):
        raise ValueError("combine_losses needs at least one term; all four are None")
    weights = normalise_lambdas(lambdas, active)
    total = None
    for t, w in zip(terms, weights, strict=True):
        if t is None:
            continue
        total = w * t if total is None else total + w * t
    return total


# --- WGAN-GP (Expert Training; Gulrajani et al. 2017) -------------------------------------------


def gradient_penalty(
    critic: Callable[..., torch.Tensor],
    real: Tensors,
    fake: Tensors,
    lambda_gp: float = 10.0,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The WGAN-GP penalty ``λ · E_x̂[(‖∇_x̂ C(x̂)‖₂ − 1)²]`` (Gulrajani et al., Algorithm 1).

    x̂ = ε·real + (1 − ε)·fake with ε ~ U[0, 1] drawn once per sample; λ = 10 as in the paper
    of Gulrajani et al. ``real`` and ``fake`` may each be one tensor or a tuple of tensors
    with the same batch size — e.g. (Z^F, Z^E) when the critic C_i judges both representation
    spaces of a specialised model; the critic is then called as ``critic(*x̂)``, the same ε is
    used for every part of a sample, and the gradient norm is taken over all parts together
    (the norm of the gradient with respect to the concatenated input). Inputs are detached:
    the penalty trains the critic only. The returned value is differentiable with respect to the
    critic's parameters (``create_graph=True``).
    """
    lambda_gp = _check_nonneg(lambda_gp, "lambda_gp")
    reals, fakes = _as_list(real, "real"), _as_list(fake, "fake")
    if len(reals) != len(fakes):
        raise ValueError(f"real has {len(reals)} parts and fake {len(fakes)}: they must match")
    B = reals[0].shape[0]
    for r, f in zip(reals, fakes, strict=True):
        if r.shape != f.shape or r.shape[0] != B:
            raise ValueError(
                f"real part {tuple(r.shape)} and fake part {tuple(f.shape)} must have the same "
                f"shape and batch size {B}"
            )
    ref = reals[0]
    if generator is None:
        eps = torch.rand(B, dtype=ref.dtype, device=ref.device)
    else:
        eps = torch.rand(B, dtype=ref.dtype, generator=generator, device="cpu").to(ref.device)
    interps = []
    for r, f in zip(reals, fakes, strict=True):
        e = eps.view(B, *([1] * (r.ndim - 1)))
        interps.append((e * r.detach() + (1 - e) * f.detach()).requires_grad_(True))
    scores = critic(*interps)
    grads = torch.autograd.grad(scores.sum(), interps, create_graph=True)
    sq = sum(g.reshape(B, -1).pow(2).sum(dim=1) for g in grads)
    norm = torch.sqrt(sq + 1e-12)  # finite gradient even where the critic is flat
    return lambda_gp * (norm - 1.0).pow(2).mean()


def wgan_critic_loss(scores_real: torch.Tensor, scores_fake: torch.Tensor) -> torch.Tensor:
    """The critic's Wasserstein loss ``E[C(fake)] − E[C(real)]`` (add :func:`gradient_penalty`)."""
    return scores_fake.mean() - scores_real.mean()


def wgan_generator_loss(scores_fake: torch.Tensor) -> torch.Tensor:
    """The generator's Wasserstein loss ``−E[C(G(noise))]``.

    In Expert Training the surrogate teacher G_i minimises this plus its two extra constraints
    (J_Sim of eq. 1 and J_MAE of eq. 2); the paper gives no weights for that sum.
    """
    return -scores_fake.mean()
