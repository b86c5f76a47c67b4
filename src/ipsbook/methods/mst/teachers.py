"""Expert Training (paper C, Sect. 3.1, Fig. 1a): a surrogate teacher G_i per source dataset.

For a specialised model S_i = {F_i^S, E_i^S, R_i^S} already trained on source dataset i, the
surrogate teacher G_i = {F_i^G, E_i^G} learns to produce, *from noise*, pairs (Z^F, Z^E) that
look like the pairs S_i's Framer and Extractor produce on that dataset. It is trained as a
WGAN-GP (Gulrajani et al., NeurIPS 2017; the paper's ref. [10]) against a critic C_i, with the
paper's two extra constraints on the generated Z^E (Fig. 1a: green flow = the source model's
Regressor R_i^S, red flow = the angular similarity J_Sim):

    L_C = E[C(G(noise))] − E[C(Z^F_S, Z^E_S)] + λ_gp · GP                    (critic, n_critic ×)
    L_G = −E[C(G(noise))] + w_sim · J_Sim(Z^E_S, Z^E_G) + w_mae · ‖Y − R_i^S(Z^E_G)‖   (G)

After training, G_i is frozen and is all Expert Distilling (:mod:`.distill`) needs of source i:
no source data and no source model.

What the paper fixes: three fully connected layers for G_i; WGAN with gradient penalty; J_Sim
of eq. 1 (α = 0.2 rad) and the J_MAE of eq. 2 on R_i^S(Z^E_G); batch 128 (Sect. 4.1: "all
phases"). Sect. 4.1's epochs and learning rates are stated for "the models"; we take the epochs
from the profile (``TeacherConfig.epochs``) and keep the WGAN-GP learning rate below unless the
profile sets ``lr``. What the paper leaves open, and our choices:

* **Layer widths** (:class:`SurrogateGenerator`): noise 128 → 256 → Z^F → Z^E.
  F^G = Linear(128, 256) – LeakyReLU(0.2) – Linear(256, z_f_dim); E^G = LeakyReLU(0.2) –
  Linear(z_f_dim, z_e_dim). Why: F^G must turn isotropic Gaussian noise into Z^F, which for three
  of the four networks is a sparse post-ReLU/ELU activation; a single affine layer of Gaussian
  noise is Gaussian, so F^G needs a hidden non-linearity and gets two of the three layers. E^G
  maps Z^F to Z^E, as the specialised Extractor does, with one non-linearity, so J_FI (the
  Lipschitz behaviour of the block Z^F → Z^E, eq. 11) reads a genuine non-linear block.
  Noise 128 ≥ z_e_dim of every network here (33-128), so Z^E_G is not rank-limited by the
  noise; the hidden 256 is twice the widest Z^E. Outputs are linear (no output activation), so
  one generator fits all four networks (post-ReLU, post-ELU, LayerNorm'd and linear features).
* **Standardisation.** The GAN runs in standardised coordinates: the real Z^F, Z^E are shifted
  and scaled per feature by their mean and standard deviation over the source set (buffers
  ``f_mean``/``f_std``/``e_mean``/``e_std``), the critic and the gradient penalty see
  standardised pairs, and the generator's public outputs are un-standardised back into S_i's
  spaces. These are fixed affine maps folded into the first/last layers: G_i is still three
  fully connected layers. Features constant over the source set (dead units) get scale 1.
* **Critic** :class:`Critic`: concat(Z^F, Z^E) → 256 → 256 → 1, LeakyReLU(0.2), no
  normalisation layers (Gulrajani et al. advise against batch norm in the critic).
* **WGAN-GP constants** (Gulrajani et al., their Algorithm 1): n_critic = 5, λ_gp = 10,
  Adam(lr 1e-4, β = (0.5, 0.9)) for both; the paper gives none of these. An *epoch* is one pass
  of the critic over the source set in batches of 128 (a fresh real batch per critic step); G
  steps once every n_critic critic steps, the count carried across epochs.
* **J_Sim's form** (``sim_mode``): eq. 1 as printed by default (batch-mean cosine, one
  arccos, additive margin); ``"per-sample"`` and ``"hinge"`` are the ablations of
  :func:`.losses.angular_similarity_loss`. It enters :meth:`TeacherConfig.weights_key`, so the
  cache never hands out a teacher trained under another form.
* **Pairing for the extra constraints.** Eq. 2 and eq. 1 pair row k of the generated batch with
  row k of a real batch (Y_k, Z^E_{k,S}), but G_i draws from noise: row k of one has nothing to
  do with row k of the other. Given that independence, the row-wise terms are minimised by one
  and the same Z^E for every noise draw (the one R_i^S maps to the geometric median of the
  positions): they pull G_i towards collapse, against the critic. ``pairing="nearest"`` (default) pairs each generated Z^E with the real Z^E of the batch
  closest to it in angle (and that sample's position Y), which keeps the constraints' meaning —
  "close to a real representation, and R_i^S reads a true position from it" — without forcing
  collapse; ``pairing="row"`` is the literal row-wise reading. Weights w_sim = w_mae = 1 (the
  paper gives none). Only R_i^S(Z^E_G) depends on G; eq. 2's R_i^S(Z^E_S) term is constant and
  recorded (``J_MAE_real_m``) as the source model's own training error.
* **Quality checks** recorded per epoch (history ``metrics``): ``W`` (critic's Wasserstein
  estimate E C(real) − E C(fake), standardised units), ``GP``, ``critic``, ``G_adv``,
  ``J_Sim`` (eq. 1 under the chosen pairing), ``J_MAE_gen_m`` (metres: R_i^S on generated Z^E
  against the paired positions) and ``J_MAE_real_m``. The critic's metrics average over the
  epoch's critic steps, the others over its generator steps; an epoch without a generator step
  (a source set of fewer than ``n_critic`` batches) records NaN for them.

Fp32 throughout (the networks are small MLPs; the penalty's double backward is safest in fp32).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from ...torchutil import resolve_device, torch_session
from .data import FingerprintSet
from .losses import (
    ALPHA,
    angular_similarity_loss,
    check_sim_mode,
    gradient_penalty,
    mae_loss,
    nearest_index,
    wgan_critic_loss,
    wgan_generator_loss,
)
from .train import (
    PAPER_BATCH_SIZE,
    Checkpoint,
    TrainHistory,
    _check_pos_float,
    _check_pos_int,
    _check_seed,
    autocast,
    check_anchors,
    check_model,
    data_digest,
    model_inputs,
    module_digest,
    regress_standardised,
    run_epochs,
    standardised_targets,
)

__all__ = [
    "PAIRINGS",
    "Critic",
    "SurrogateGenerator",
    "Teacher",
    "TeacherConfig",
    "teacher_quality",
    "train_teacher",
]

PAIRINGS: tuple[str, ...] = ("nearest", "row")
_LEAK = 0.2


class SurrogateGenerator(nn.Module):
    """G_i = {F^G, E^G}: noise → Z^F → Z^E with three fully connected layers (see module docs).

    ``framer(noise)`` → Z^F ``(B, z_f_dim)`` and ``extractor(z_f)`` → Z^E ``(B, z_e_dim)`` are in
    the specialised model's own spaces; ``forward(noise)`` → ``(Z^F, Z^E)``.
    ``forward_standardised`` gives the same pair in the standardised coordinates the GAN uses.
    """

    def __init__(self, noise_dim: int, z_f_dim: int, z_e_dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.noise_dim = _check_pos_int("noise_dim", noise_dim)
        self.z_f_dim = _check_pos_int("z_f_dim", z_f_dim)
        self.z_e_dim = _check_pos_int("z_e_dim", z_e_dim)
        self.hidden = _check_pos_int("hidden", hidden)
        self.framer_net = nn.Sequential(
            nn.Linear(self.noise_dim, self.hidden),
            nn.LeakyReLU(_LEAK),
            nn.Linear(self.hidden, self.z_f_dim),
        )
        self.extractor_net = nn.Sequential(
            nn.LeakyReLU(_LEAK), nn.Linear(self.z_f_dim, self.z_e_dim)
        )
        for name, d in (("f", self.z_f_dim), ("e", self.z_e_dim)):
            self.register_buffer(f"{name}_mean", torch.zeros(d))
            self.register_buffer(f"{name}_std", torch.ones(d))

    def set_standardisation(
        self, f_mean: torch.Tensor, f_std: torch.Tensor, e_mean: torch.Tensor, e_std: torch.Tensor
    ) -> None:
        with torch.no_grad():
            for buf, v in (
                (self.f_mean, f_mean),
                (self.f_std, f_std),
                (self.e_mean, e_mean),
                (self.e_std, e_std),
            ):
                buf.copy_(v.to(buf))

    def forward_standardised(self, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        zf = self.framer_net(noise)
        return zf, self.extractor_net(zf)

    def framer(self, noise: torch.Tensor) -> torch.Tensor:
        return self.f_mean + self.f_std * self.framer_net(noise)

    def extractor(self, z_f: torch.Tensor) -> torch.Tensor:
        return self.e_mean + self.e_std * self.extractor_net((z_f - self.f_mean) / self.f_std)

    def unstandardise(
        self, zf: torch.Tensor, ze: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.f_mean + self.f_std * zf, self.e_mean + self.e_std * ze

    def forward(self, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.unstandardise(*self.forward_standardised(noise))


class Critic(nn.Module):
    """C_i: a pair (Z^F, Z^E) (standardised) → one real score per row."""

    def __init__(self, z_f_dim: int, z_e_dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(
                _check_pos_int("z_f_dim", z_f_dim) + _check_pos_int("z_e_dim", z_e_dim),
                _check_pos_int("hidden", hidden),
            ),
            nn.LeakyReLU(_LEAK),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(_LEAK),
            nn.Linear(hidden, 1),
        )

    def forward(self, z_f: torch.Tensor, z_e: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z_f, z_e], dim=1)).squeeze(1)


@dataclass(frozen=True)
class TeacherConfig:
    """How to train a surrogate teacher (defaults: Gulrajani et al.'s WGAN-GP; see module docs).

    ``epochs`` come from the profile (paper: the source dataset's epochs of Sect. 4.1).
    ``precompute_bytes``: the real (Z^F, Z^E) of the whole source set are computed once and kept
    when they fit in this many bytes, else recomputed per batch.
    """

    epochs: int
    lr: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.9)
    batch_size: int = PAPER_BATCH_SIZE
    n_critic: int = 5
    lambda_gp: float = 10.0
    noise_dim: int = 128
    hidden: int = 256
    critic_hidden: int = 256
    sim_weight: float = 1.0
    mae_weight: float = 1.0
    margin: float = ALPHA
    sim_mode: str = "printed"
    pairing: Literal["nearest", "row"] = "nearest"
    num_threads: int | None = None
    device: str | None = None
    amp: bool = True  # autocast of the *specialised* model's forward pass on CUDA only
    precompute_bytes: int = 2 * 1024**3
    progress: bool = False

    def __post_init__(self) -> None:
        for name in (
            "epochs",
            "batch_size",
            "n_critic",
            "noise_dim",
            "hidden",
            "critic_hidden",
            "precompute_bytes",
        ):
            _check_pos_int(name, getattr(self, name))
        _check_pos_float("lr", self.lr)
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas={self.betas!r} must be two numbers in [0, 1)")
        for name in ("lambda_gp", "sim_weight", "mae_weight", "margin"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
                raise ValueError(f"{name}={v!r} must be a number >= 0")
        if self.pairing not in PAIRINGS:
            raise ValueError(f"pairing={self.pairing!r}; allowed: {', '.join(PAIRINGS)}")
        check_sim_mode(self.sim_mode)
        if self.num_threads is not None:
            _check_pos_int("num_threads", self.num_threads)

    def weights_key(self) -> dict[str, Any]:
        """Every setting the trained generator's weights depend on (all fields but where and
        how visibly it runs): the part of an expert's cache digest that the teacher owns, so a
        teacher trained under another J_Sim form, margin, pairing or GAN constant is never
        reused."""
        skip = ("num_threads", "device", "progress", "precompute_bytes")
        out = {k: v for k, v in vars(self).items() if k not in skip}
        out["betas"] = list(self.betas)
        return out


@dataclass
class Teacher:
    """A trained, frozen surrogate teacher G_i of one source dataset and one network.

    ``sample(n)`` → ``(Z^F, Z^E)`` of ``n`` noise draws (no gradient); ``generate(noise)`` the same
    for given noise. ``save``/``load`` keep it on disk (the generator's weights and buffers, the
    history and the labels).
    """

    generator: SurrogateGenerator
    history: TrainHistory = field(default_factory=TrainHistory)
    source: str = ""
    model_name: str = ""

    def __post_init__(self) -> None:
        self.generator.requires_grad_(False)
        self.generator.eval()

    @property
    def noise_dim(self) -> int:
        return self.generator.noise_dim

    @property
    def z_f_dim(self) -> int:
        return self.generator.z_f_dim

    @property
    def z_e_dim(self) -> int:
        return self.generator.z_e_dim

    @property
    def device(self) -> torch.device:
        return self.generator.f_mean.device

    def to(self, device: torch.device | str) -> Teacher:
        self.generator.to(device)
        return self

    def generate(self, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if noise.ndim != 2 or noise.shape[1] != self.noise_dim:
            raise ValueError(f"noise must be (batch, {self.noise_dim}); got {tuple(noise.shape)}")
        with torch.no_grad():
            return self.generator(noise)

    def sample(
        self, n: int, *, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n = _check_pos_int("n", n)
        if generator is None:
            noise = torch.randn(n, self.noise_dim, device=self.device)
        else:
            noise = torch.randn(n, self.noise_dim, generator=generator).to(self.device)
        return self.generate(noise)

    def digest(self) -> str:
        return module_digest(self.generator)

    def save(self, path: str | os.PathLike[str]) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        g = self.generator
        tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
        torch.save(
            {
                "dims": [g.noise_dim, g.z_f_dim, g.z_e_dim, g.hidden],
                "state": g.state_dict(),
                "history": self.history.to_dict(),
                "source": self.source,
                "model_name": self.model_name,
            },
            tmp,
        )
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], map_location: str | None = "cpu") -> Teacher:
        d = torch.load(Path(path), map_location=map_location, weights_only=True)
        g = SurrogateGenerator(*d["dims"])
        g.load_state_dict(d["state"])
        return cls(g, TrainHistory.from_dict(d["history"]), d["source"], d["model_name"])


# --- Expert Training ----------------------------------------------------------------------------


class _Reals:
    """The source model's (Z^F, Z^E) per batch: computed once and kept, or recomputed."""

    def __init__(
        self,
        model: nn.Module,
        x: torch.Tensor,
        dev: torch.device,
        amp: bool,
        keep: bool,
        chunk: int = 2048,
    ) -> None:
        self.model, self.x, self.dev, self.amp, self.keep = model, x, dev, amp, keep
        sums = [None, None, None, None]
        parts_f, parts_e = [], []
        n = len(x)
        for a in range(0, n, chunk):
            zf, ze = self._compute(x[a : a + chunk])
            for k, z in enumerate((zf, ze)):
                z64 = z.double()
                s, s2 = z64.sum(0), (z64 * z64).sum(0)
                sums[2 * k] = s if sums[2 * k] is None else sums[2 * k] + s
                sums[2 * k + 1] = s2 if sums[2 * k + 1] is None else sums[2 * k + 1] + s2
            if keep:
                parts_f.append(zf)
                parts_e.append(ze)
        stats = []
        for k in range(2):
            mean = sums[2 * k] / n
            var = (sums[2 * k + 1] / n - mean * mean).clamp_min(0.0)
            std = var.sqrt()
            std = torch.where(std > 1e-6 * (1.0 + mean.abs()), std, torch.ones_like(std))
            stats += [mean.float(), std.float()]
        self.f_mean, self.f_std, self.e_mean, self.e_std = stats
        self.zf = torch.cat(parts_f) if keep else None
        self.ze = torch.cat(parts_e) if keep else None

    def _compute(self, xb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad(), autocast(self.dev, self.amp):
            zf = self.model.framer(xb)
            ze = self.model.extractor(zf)
        return zf.float().reshape(len(xb), -1), ze.float().reshape(len(xb), -1)

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw (Z^F, Z^E) of rows ``idx``."""
        if self.keep:
            return self.zf[idx], self.ze[idx]
        return self._compute(self.x[idx])


def _pair(
    fake_e: torch.Tensor, real_e: torch.Tensor, y: torch.Tensor, how: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """The real Z^E and positions each generated row is compared with (see module docs)."""
    if how == "row":
        return real_e, y
    j = nearest_index(fake_e, real_e)
    return real_e[j], y[j]


def train_teacher(
    specialised_model: nn.Module,
    source_set: FingerprintSet,
    *,
    config: TeacherConfig,
    seed: int,
    checkpoint: Checkpoint | None = None,
) -> Teacher:
    """Expert Training of one surrogate teacher G_i for a trained specialised model S_i.

    ``specialised_model`` is S_i already trained on ``source_set`` (e.g. by
    :func:`.train.train_specialised`); it stays frozen and unchanged (eval mode, no gradient into
    its weights). Returns the frozen :class:`Teacher` with its history (see the module docs for
    the metrics); ``history.samples_per_s`` counts real source fingerprints seen by the critic.

    Raises:
        ValueError: a source set with another number of anchors than the model's; bad seed.
        TypeError: a model without the framer/extractor/regressor interface.
    """
    model = specialised_model
    check_model(model)
    check_anchors(model, source_set, "source_set")
    seed = _check_seed(seed)
    dev = resolve_device(config.device)
    n = len(source_set)
    if n < 2:
        raise ValueError("source_set needs at least 2 fingerprints")
    x_np = model_inputs(model, source_set)
    if hasattr(model, "check_input"):
        model.check_input(x_np)
    z_f_dim, z_e_dim = int(model.z_f_dim), int(model.z_e_dim)
    keep = n * (z_f_dim + z_e_dim) * 4 <= config.precompute_bytes
    rng = np.random.default_rng(seed)
    was_training = model.training
    requires = [p.requires_grad for p in model.parameters()]
    with torch_session(seed, dev, config.num_threads):
        gen = SurrogateGenerator(config.noise_dim, z_f_dim, z_e_dim, config.hidden).to(dev)
        critic = Critic(z_f_dim, z_e_dim, config.critic_hidden).to(dev)
        model.to(dev).eval()
        model.requires_grad_(False)
        try:
            hist = _train_gan(
                model, gen, critic, source_set, x_np, keep, dev, rng, config, seed, checkpoint
            )
        finally:
            for p, r in zip(model.parameters(), requires, strict=True):
                p.requires_grad_(r)
            model.train(was_training)
    label = getattr(source_set, "label", source_set.name)
    return Teacher(
        gen.eval(), hist, source=label, model_name=str(getattr(model, "name", type(model).__name__))
    )


def _train_gan(
    model: nn.Module,
    gen: SurrogateGenerator,
    critic: Critic,
    source_set: FingerprintSet,
    x_np: np.ndarray,
    keep: bool,
    dev: torch.device,
    rng: np.random.Generator,
    config: TeacherConfig,
    seed: int,
    checkpoint: Checkpoint | None,
) -> TrainHistory:
    n, B = len(source_set), config.batch_size
    x = torch.as_tensor(x_np, device=dev)
    reals = _Reals(model, x, dev, config.amp, keep)
    gen.set_standardisation(reals.f_mean, reals.f_std, reals.e_mean, reals.e_std)
    y = standardised_targets(model, source_set.pos, dev)
    metres = float(model.pos_scale.float().mean())
    opt_c = torch.optim.Adam(critic.parameters(), lr=config.lr, betas=config.betas)
    opt_g = torch.optim.Adam(gen.parameters(), lr=config.lr, betas=config.betas)
    params = sum(p.numel() for m in (gen, critic) for p in m.parameters())
    hist = TrainHistory(
        kind="teacher", n_train=n, samples_per_epoch=n, trainable_parameters=params, device=str(dev)
    )
    extra: dict[str, Any] = {"critic_steps": 0}
    steps = -(-n // B)
    std = (reals.f_mean, reals.f_std, reals.e_mean, reals.e_std)

    def standardise(zf: torch.Tensor, ze: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (zf - std[0]) / std[1], (ze - std[2]) / std[3]

    def run_epoch(order: torch.Tensor) -> dict[str, float]:
        gen.train()
        critic.train()
        acc = {
            k: torch.zeros((), device=dev)
            for k in ("critic", "W", "GP", "G_adv", "J_Sim", "J_MAE_gen", "J_MAE_real")
        }
        n_c = n_g = 0
        for s in range(steps):
            idx = order[s * B : (s + 1) * B]
            b = len(idx)
            if b < 2:  # a lone last row: too small for the penalty's interpolation statistics
                continue
            raw_f, raw_e = reals.batch(idx)
            real = standardise(raw_f, raw_e)
            # --- critic step
            with torch.no_grad():
                fake = gen.forward_standardised(torch.randn(b, gen.noise_dim, device=dev))
            c_real, c_fake = critic(*real), critic(*fake)
            gp = gradient_penalty(critic, real, fake, config.lambda_gp)
            loss_c = wgan_critic_loss(c_real, c_fake) + gp
            opt_c.zero_grad(set_to_none=True)
            loss_c.backward()
            opt_c.step()
            acc["critic"] += loss_c.detach()
            acc["W"] += (c_real.mean() - c_fake.mean()).detach()
            acc["GP"] += gp.detach()
            n_c += 1
            extra["critic_steps"] += 1
            if extra["critic_steps"] % config.n_critic:
                continue
            # --- generator step (the critic's weights get no gradient)
            critic.requires_grad_(False)
            fz_f, fz_e = gen.forward_standardised(torch.randn(b, gen.noise_dim, device=dev))
            g_adv = wgan_generator_loss(critic(fz_f, fz_e))
            _, gen_e = gen.unstandardise(fz_f, fz_e)
            pair_e, pair_y = _pair(gen_e.detach(), raw_e, y[idx], config.pairing)
            j_sim = angular_similarity_loss(pair_e, gen_e, config.margin, mode=config.sim_mode)
            j_mae_gen = mae_loss(regress_standardised(model, gen_e).float(), pair_y)
            loss_g = g_adv + config.sim_weight * j_sim + config.mae_weight * j_mae_gen
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            critic.requires_grad_(True)
            with torch.no_grad():
                j_mae_real = mae_loss(regress_standardised(model, raw_e).float(), y[idx])
            acc["G_adv"] += g_adv.detach()
            acc["J_Sim"] += j_sim.detach()
            acc["J_MAE_gen"] += j_mae_gen.detach()
            acc["J_MAE_real"] += j_mae_real
            n_g += 1
        out = {k: float(acc[k]) / max(n_c, 1) for k in ("critic", "W", "GP")}
        nan = float("nan")
        out["G_adv"] = float(acc["G_adv"]) / n_g if n_g else nan
        out["J_Sim"] = float(acc["J_Sim"]) / n_g if n_g else nan
        out["J_MAE_gen_m"] = float(acc["J_MAE_gen"]) / n_g * metres if n_g else nan
        out["J_MAE_real_m"] = float(acc["J_MAE_real"]) / n_g * metres if n_g else nan
        return out

    signature = {
        "kind": "teacher",
        "seed": seed,
        "model": module_digest(model),
        "data": data_digest(x_np, source_set.pos),
        **{
            k: v
            for k, v in vars(config).items()
            if k not in ("epochs", "num_threads", "progress", "device", "precompute_bytes")
        },
    }
    signature["betas"] = list(config.betas)
    run_epochs(
        hist=hist,
        n=n,
        epochs=config.epochs,
        rng=rng,
        dev=dev,
        modules={"generator": gen, "critic": critic},
        optimizers={"generator": opt_g, "critic": opt_c},
        run_epoch=run_epoch,
        checkpoint=checkpoint,
        signature=signature,
        extra_state=extra,
        progress=config.progress,
        desc="surrogate teacher (WGAN-GP)",
    )
    return hist


def teacher_quality(
    teacher: Teacher,
    model: nn.Module,
    source_set: FingerprintSet,
    *,
    n: int = 1024,
    seed: int = 0,
    margin: float = ALPHA,
    sim_mode: str = "printed",
) -> dict[str, float]:
    """Fig. 1a's checks on ``n`` generated samples against the source set's real ones, in eval
    mode: J_Sim to the nearest real Z^E, R_i^S's error (m) at the nearest real sample's position,
    the per-feature mean/std gaps of Z^E (relative to the real std), and, for reference, the
    source model's own error (m). A quick summary of how faithful G_i is; not used in training."""
    check_model(model)
    check_anchors(model, source_set, "source_set")
    model_dev = next(model.parameters()).device
    x = torch.as_tensor(model_inputs(model, source_set), device=model_dev)
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            ze_real = torch.cat(
                [
                    model.extractor(model.framer(x[a : a + 4096])).float()
                    for a in range(0, len(x), 4096)
                ]
            )
            y = standardised_targets(model, source_set.pos, model_dev)
            g = torch.Generator().manual_seed(int(seed))
            _, ze_gen = teacher.sample(_check_pos_int("n", n), generator=g)
            ze_gen = ze_gen.to(model_dev)
            pe, py = _pair(ze_gen, ze_real, y, "nearest")
            metres = float(model.pos_scale.float().mean())
            sd = ze_real.std(0)
            live = sd > 1e-6  # dead units (constant over the set) say nothing about fidelity
            out = {
                "J_Sim_nearest": float(angular_similarity_loss(pe, ze_gen, margin, mode=sim_mode)),
                "R_error_gen_m": float(mae_loss(regress_standardised(model, ze_gen).float(), py))
                * metres,
                "R_error_real_m": float(mae_loss(regress_standardised(model, ze_real).float(), y))
                * metres,
                "mean_gap_rel": float(
                    ((ze_gen.mean(0) - ze_real.mean(0)).abs()[live] / sd[live]).mean()
                ),
                "std_ratio": float((ze_gen.std(0)[live] / sd[live]).mean()),
                "live_features": int(live.sum()),
            }
    finally:
        model.train(was)
    return {k: (v if math.isfinite(v) else float("nan")) for k, v in out.items()}
