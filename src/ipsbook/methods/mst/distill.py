"""Expert Distilling (paper C, Sect. 3.2, Algorithm 3, Fig. 1b).

A fresh specialised model S is trained on the *target* dataset with

    J_overall = λ̄1·J_MAE + λ̄2·J_Sim + λ̄3·J_MI + λ̄4·J_FI          (eq. 12, λ̄ = λ / Σλ)

where the last three align S's representations with those N frozen surrogate teachers G_i
(:mod:`.teachers`, one per source dataset) generate from noise. Per batch, as Algorithm 3:

* line 6: ``Z_S^F, Z_S^E, Ŷ = S(b)``; line 7: J_MAE (mean Euclidean error, standardised
  coordinates with one isotropic scale, see :mod:`.train`);
* line 5/12: one noise draw per batch, ``Z_{G_i}^F, Z_{G_i}^E = G_i(noise)`` for every teacher
  (teachers with a smaller noise width take the first columns of the same draw);
* lines 13-17: J_MI with one global estimator Ψθ (:class:`~.losses.JSDMIEstimator`), its
  negatives the cyclic shift of Z_S^E (line 13); Ψθ is trained jointly with S by the same Adam
  (Algorithm 3 initialises Ψθ but lists only S as updated; a critic that is never trained
  would make J_MI a random projection, so we follow Deep InfoMax, the paper's ref. [13]);
* lines 18-19: J_Sim (eq. 1, α = 0.2 rad), lines 8-9 and 20-23: J_FI (eq. 11: σ₁ of the
  transmitting matrix of the block Z^F → Z^E by power iteration, teachers' side detached);
* lines 24-25: J_overall and one Adam step (the λ normalisation of :func:`~.losses.combine_losses`
  over the terms in use).

The teachers are never updated (their weights are frozen and only evaluated under
``torch.no_grad``); the pairing of student rows with teacher rows is the paper's row-by-row
pairing of independent draws (see the caveat in :mod:`.losses`).

**Ablations** (Table 2) choose the constraint set by the symbol the paper gives the model:
see :data:`ABLATIONS`. ``use_fi=False`` removes J_FI on top of any ablation — bAaT's case: the
paper enhances bAaT with J_Sim and J_MI only ("bAaT++"), because self-attention is not
Lipschitz (Kim et al. 2021).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from ...torchutil import resolve_device, torch_session
from .data import FingerprintSet
from .losses import (
    ALPHA,
    DEFAULT_LAMBDAS,
    PAIRINGS,
    JSDMIEstimator,
    check_sim_mode,
    combine_losses,
    expert_distilling_terms,
    mae_loss,
    normalise_lambdas,
)
from .teachers import Teacher
from .train import (
    Checkpoint,
    TrainConfig,
    TrainHistory,
    _check_pos_int,
    _check_seed,
    _stop_sets,
    autocast,
    check_anchors,
    check_model,
    data_digest,
    evaluate,
    make_adam,
    model_inputs,
    representations,
    run_epochs,
    standardise_positions,
    standardised_targets,
    trainable,
)

__all__ = [
    "ABLATIONS",
    "TERMS",
    "DistillOptions",
    "constraint_set",
    "diagnosed_epoch",
    "distill",
    "distilling_loss",
    "distilling_terms",
    "term_gradient_norms",
]

TERMS: tuple[str, ...] = ("J_MAE", "J_Sim", "J_MI", "J_FI")

ABLATIONS: dict[str, dict[str, bool]] = {
    # Table 2's symbols: which of the three alignment constraints a model is trained with
    # (J_MAE always). The base row of Table 2 (no symbol) is the stand-alone model of
    # train.train_specialised; "none" is the same loss run through this loop (a control).
    "none": {"sim": False, "mi": False, "fi": False},  # J_MAE only
    "+": {"sim": True, "mi": False, "fi": False},  # "+": J_Sim alone (DNN+, CNNLoc+, ...)
    # "*": J_MI alone. NB: in Table 1, "*" means something else (sequential transfer learning
    # with encoder networks, a baseline, not an ablation).
    "*": {"sim": False, "mi": True, "fi": False},
    "++": {"sim": True, "mi": True, "fi": False},  # "++": J_Sim + J_MI (also bAaT++ of Tab. 1/3/4)
    "°": {"sim": False, "mi": False, "fi": True},  # "°": J_FI alone
    "+++": {"sim": True, "mi": True, "fi": True},  # "+++": all three, the full framework
}
_ALIASES = {"o": "°", "deg": "°", "full": "+++", "mae": "none", "": "none"}


def constraint_set(ablation: str = "+++", use_fi: bool = True) -> dict[str, bool]:
    """``{"sim", "mi", "fi"}`` flags for a Table 2 symbol (aliases: ``"o"`` for ``"°"``),
    with J_FI switched off as well when ``use_fi`` is False."""
    key = _ALIASES.get(ablation, ablation) if isinstance(ablation, str) else None
    if key not in ABLATIONS:
        raise ValueError(
            f"ablation={ablation!r}; allowed: {', '.join(map(repr, ABLATIONS))} (or 'o' for '°')"
        )
    flags = dict(ABLATIONS[key])
    flags["fi"] = flags["fi"] and bool(use_fi)
    return flags


@dataclass(frozen=True)
class DistillOptions:
    """The constraints' own settings (defaults: the paper's, or :mod:`.losses`' documented
    readings where the paper is silent). Every field enters the distilling runs' cache digest.

    ``sim_mode``: J_Sim's form, one of :data:`~.losses.SIM_MODES` (``"printed"``: eq. 1 as
    printed; ``"per-sample"``, ``"hinge"``: ablations); the surrogate teachers use the same form
    (:meth:`.experiment.Settings.teacher_config`). ``pairing``: which teacher row a student row
    meets in J_Sim and J_MI, one of :data:`~.losses.PAIRINGS`: ``"row"`` is Algorithm 3 as
    written (row k of the data batch with noise draw k: independent pairs), ``"nearest"`` pairs
    each student row with the teacher's draw nearest to it in angle (the switch that lets the
    pairs depend on each other; see :func:`~.losses.expert_distilling_terms`).
    ``mi_hidden``/``mi_layers``: Ψθ's MLP (Deep InfoMax's two 512-unit layers).
    ``diagnose_every``: how often the gradient norm of each weighted term with respect to the
    student's parameters is recorded (history metrics ``grad_<term>``, ``share_<term>``, see
    :func:`distill`): on the first batch of every epoch that contains a multiple of this many
    training steps (:func:`diagnosed_epoch`) — every epoch of a large set (UJI: 156 steps an
    epoch), every few epochs of a small one (Tampere: 6), so the four extra backward passes of
    a diagnosed batch cost a few per cent of any run; 0 = never. It does not change the
    training.
    """

    margin: float = ALPHA
    sim_mode: str = "printed"
    negatives: Literal["roll", "permute"] = "roll"
    pairing: str = "row"
    n_iter: int = 20
    fi_normalize: Literal["sample", "none"] = "sample"
    mi_hidden: int = 512
    mi_layers: int = 2
    diagnose_every: int = 50

    def __post_init__(self) -> None:
        check_sim_mode(self.sim_mode)
        if self.pairing not in PAIRINGS:
            raise ValueError(
                f"pairing={self.pairing!r}: allowed are {', '.join(map(repr, PAIRINGS))}"
            )
        if self.negatives not in ("roll", "permute"):
            raise ValueError(f"negatives={self.negatives!r}: allowed are 'roll' and 'permute'")
        if self.fi_normalize not in ("sample", "none"):
            raise ValueError(f"fi_normalize={self.fi_normalize!r}: allowed are 'sample' and 'none'")
        d = self.diagnose_every
        if isinstance(d, bool) or not isinstance(d, int) or d < 0:
            raise ValueError(f"diagnose_every={d!r} must be an integer >= 0 (0 = never)")


def diagnosed_epoch(epoch: int, steps: int, every: int) -> bool:
    """Whether 0-based ``epoch`` of ``steps`` training steps is diagnosed when one batch in
    ``every`` steps should be: the first epoch, and each epoch whose steps include a multiple of
    ``every`` (counted from the start of training, so a resumed run diagnoses the same epochs).
    ``every`` = 0: none."""
    if every <= 0:
        return False
    # the epoch's steps are epoch·steps ... (epoch + 1)·steps − 1
    return (epoch * steps - 1) // every < ((epoch + 1) * steps - 1) // every


def _check_teachers(model: nn.Module, teachers: Sequence[Teacher]) -> list[Teacher]:
    if isinstance(teachers, Teacher):
        teachers = [teachers]
    teachers = list(teachers)
    if not teachers:
        raise ValueError("teachers is empty: Expert Distilling needs at least one Teacher")
    for i, t in enumerate(teachers):
        if not isinstance(t, Teacher):
            raise TypeError(f"teachers[{i}] is a {type(t).__name__}, not a teachers.Teacher")
        if t.z_e_dim != int(model.z_e_dim):
            raise ValueError(
                f"teachers[{i}] ({t.model_name} on {t.source}) generates Z^E of width {t.z_e_dim}, "
                f"the model's Z^E has {int(model.z_e_dim)}: teachers must come from the same "
                "network as the target model"
            )
    return teachers


def distilling_terms(
    model: nn.Module,
    x: torch.Tensor,
    y_std: torch.Tensor,
    teachers: Sequence[Teacher],
    estimator: JSDMIEstimator | None,
    *,
    constraints: dict[str, bool],
    noise: torch.Tensor | None = None,
    options: DistillOptions = DistillOptions(),
    amp: bool = False,
    cpu_bf16: bool = False,
) -> dict[str, torch.Tensor | None]:
    """J_MAE, J_Sim, J_MI, J_FI of one batch (Algorithm 3, lines 5-23); a term switched off by
    ``constraints`` is ``None``. ``noise``: ``(B, max noise_dim)``, drawn when not given.
    ``amp`` / ``cpu_bf16``: bf16 autocast of the student's forward pass (:func:`.train.autocast`);
    the terms are computed in float32 from its outputs."""
    dev = x.device
    with autocast(dev, amp, cpu_bf16):
        z_f, z_e, y_hat = representations(model, x)
    z_f, z_e = z_f.float().reshape(len(x), -1), z_e.float().reshape(len(x), -1)
    out: dict[str, torch.Tensor | None] = {"J_MAE": mae_loss(y_hat.float(), y_std)}
    if not any(constraints.values()):
        return out | {"J_Sim": None, "J_MI": None, "J_FI": None}
    width = max(t.noise_dim for t in teachers)
    if noise is None:
        noise = torch.randn(len(x), width, device=dev)
    pairs = [t.generate(noise[:, : t.noise_dim]) for t in teachers]
    parts = expert_distilling_terms(
        (z_f, z_e),
        pairs,
        estimator,
        use_sim=constraints["sim"],
        use_mi=constraints["mi"],
        use_fi=constraints["fi"],
        margin=options.margin,
        sim_mode=options.sim_mode,
        negatives=options.negatives,
        pairing=options.pairing,
        n_iter=options.n_iter,
        fi_normalize=options.fi_normalize,
    )
    return out | {"J_Sim": parts["j_sim"], "J_MI": parts["j_mi"], "J_FI": parts["j_fi"]}


def distilling_loss(
    terms: dict[str, torch.Tensor | None], lambdas: Sequence[float] = DEFAULT_LAMBDAS
) -> torch.Tensor:
    """J_overall (eq. 12) of :func:`distilling_terms`' output."""
    return combine_losses(terms["J_MAE"], terms["J_Sim"], terms["J_MI"], terms["J_FI"], lambdas)


def term_gradient_norms(
    terms: dict[str, torch.Tensor | None],
    weights: dict[str, float],
    params: Sequence[torch.Tensor],
) -> dict[str, float]:
    """‖∇_θ (λ̄_t · J_t)‖₂ for each term in use: the L2 norm, over all of the student's
    parameters ``params`` together, of the gradient of that *weighted* term alone (``weights``:
    the normalised λ̄ of :func:`~.losses.normalise_lambdas`, keyed by term).

    Uses ``torch.autograd.grad(..., retain_graph=True)``: the graph stays for the training
    step's ``backward`` and nothing is accumulated into ``.grad``, so a batch diagnosed this way
    trains exactly as one that is not (no random numbers are drawn either). A term that does not
    reach the student (e.g. J_FI on a block the student does not own) has norm 0.
    """
    out: dict[str, float] = {}
    for k, t in terms.items():
        if t is None:
            continue
        if not t.requires_grad:
            out[k] = 0.0
            continue
        g = torch.autograd.grad(weights[k] * t, list(params), retain_graph=True, allow_unused=True)
        sq = sum(float(x.detach().double().pow(2).sum()) for x in g if x is not None)
        out[k] = math.sqrt(sq)
    return out


def distill(
    model: nn.Module,
    target_train: FingerprintSet,
    teachers: Sequence[Teacher],
    *,
    lambdas: Sequence[float] = DEFAULT_LAMBDAS,
    config: TrainConfig,
    seed: int,
    use_fi: bool = True,
    val_set: FingerprintSet | None = None,
    checkpoint: Checkpoint | None = None,
    ablation: str = "+++",
    options: DistillOptions = DistillOptions(),
) -> TrainHistory:
    """Algorithm 3: train the (fresh) target ``model`` on ``target_train`` with J_overall.

    ``teachers``: one or more frozen :class:`~.teachers.Teacher` of the same network (one per
    source dataset; Table 3 compares one and two). ``lambdas``: λ1..λ4 for (J_MAE, J_Sim, J_MI,
    J_FI) before normalisation (paper: 3, 0.5, 0.5, 0.5). ``ablation``: a key of
    :data:`ABLATIONS`; ``use_fi=False`` drops J_FI (bAaT). ``config``: epochs/lr of the target
    dataset (Sect. 4.1), batch 128. With ``val_set`` the best epoch's weights are restored.
    With ``config.stop`` (converged training, :mod:`.train`) the phase stops on a plateau of
    the mean error on ``val_set`` or, without one, on the split
    :func:`~.train.stop_split` carves from ``target_train`` with ``seed`` -- the fingerprints
    the stand-alone model of the same seed holds out -- and trains on the rest only.

    The model is trained in place (position buffers set from ``target_train``); the teachers are
    moved to the training device but never changed. History ``metrics``: ``loss`` (J_overall)
    and the epoch means of each term in use (J_MAE in standardised units, J_MI the negative JSD
    bound summed over teachers, whose no-information value is
    :func:`~.losses.mi_no_information` of the number of teachers); with
    ``options.diagnose_every`` > 0, per term ``grad_<term>`` — the norm of the gradient of the
    weighted term λ̄_t·J_t with respect to the student's parameters
    (:func:`term_gradient_norms`) on the epoch's first batch, taken before that batch's Adam
    step — and ``share_<term>``, its share of the sum of those norms (the shares of an epoch
    add up to 1); NaN in the epochs :func:`diagnosed_epoch` skips. ``history.samples_per_s``:
    target fingerprints per second (diagnostics included).

    Raises:
        ValueError: a target set with another number of anchors than the model's; λ of the
            wrong length, negative or all zero for the terms in use (from
            :func:`~.losses.combine_losses`); teachers of another Z^E width; unknown ablation.
    """
    check_model(model)
    check_anchors(model, target_train, "target_train")
    if val_set is not None:
        check_anchors(model, val_set, "val_set")
    teachers = _check_teachers(model, teachers)
    seed = _check_seed(seed)
    flags = constraint_set(ablation, use_fi)
    active = (True, flags["sim"], flags["mi"], flags["fi"])
    weights = normalise_lambdas(lambdas, active)  # the same check combine_losses makes, up front
    _check_pos_int("n_iter", options.n_iter)
    dev = resolve_device(config.device)
    target_train, val_set = _stop_sets(target_train, val_set, config.stop, seed)
    n, B = len(target_train), config.batch_size
    if flags["mi"] and min(n, B) < 2:
        raise ValueError("J_MI needs batches of at least 2 fingerprints")
    x_np = model_inputs(model, target_train)
    if hasattr(model, "check_input"):
        model.check_input(x_np)
    rng = np.random.default_rng(seed)
    with torch_session(seed, dev, config.num_threads):
        model.to(dev)
        for t in teachers:
            t.to(dev)
        standardise_positions(model, target_train.pos)
        z_e_dim = int(model.z_e_dim)
        estimator = (
            JSDMIEstimator(z_e_dim, z_e_dim, options.mi_hidden, options.mi_layers).to(dev)
            if flags["mi"]
            else None
        )
        modules: dict[str, nn.Module] = {"model": model}
        if estimator is not None:
            modules["estimator"] = estimator
        params = trainable(list(modules.values()))
        if not params:
            raise ValueError("model has no trainable parameters")
        opt = make_adam(params, config.lr)
        hist = TrainHistory(
            kind="distill",
            n_train=n,
            samples_per_epoch=n,
            trainable_parameters=sum(p.numel() for p in params),
            device=str(dev),
            n_val=0 if config.stop is None else len(val_set),
        )
        x = torch.as_tensor(x_np, device=dev)
        y = standardised_targets(model, target_train.pos, dev)
        steps = -(-n // B)
        used = [k for k, a in zip(TERMS, active, strict=True) if a]

        student_params = [p for p in model.parameters() if p.requires_grad]
        w_of = dict(zip(TERMS, weights, strict=True))

        def run_epoch(order: torch.Tensor) -> dict[str, float]:
            model.train()
            if estimator is not None:
                estimator.train()
            acc = {k: torch.zeros((), device=dev) for k in ["loss", *used]}
            # len(hist.epoch_s) is this epoch's 0-based index, also after a resume
            diagnose = diagnosed_epoch(len(hist.epoch_s), steps, options.diagnose_every)
            norms: dict[str, float] = {}
            for s in range(steps):
                idx = order[s * B : (s + 1) * B]
                if flags["mi"] and len(idx) < 2:
                    continue  # a lone last row has no shuffled partner for J_MI
                terms = distilling_terms(
                    model,
                    x[idx],
                    y[idx],
                    teachers,
                    estimator,
                    constraints=flags,
                    options=options,
                    amp=config.amp,
                    cpu_bf16=config.cpu_bf16,
                )
                loss = distilling_loss(terms, lambdas)
                if diagnose and not norms:
                    norms = term_gradient_norms(terms, w_of, student_params)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                acc["loss"] += loss.detach() * len(idx)
                for k in used:
                    acc[k] += terms[k].detach() * len(idx)
            out = {k: float(v) / n for k, v in acc.items()}
            if options.diagnose_every:  # the same keys every epoch: NaN where not diagnosed
                total = sum(norms.values())
                for k in used:
                    g = norms.get(k, float("nan"))
                    out[f"grad_{k}"] = g
                    out[f"share_{k}"] = g / total if total > 0 else float("nan")
            return out

        def validate() -> float:
            return float(np.mean(evaluate(model, val_set, config.eval_batch_size)))

        signature = {
            "kind": "distill",
            "seed": seed,
            "model": type(model).__name__,
            "parameters": hist.trainable_parameters,
            "lr": config.lr,
            "batch_size": B,
            "data": data_digest(x_np, target_train.pos),
            "val": None if val_set is None else data_digest(val_set.rss, val_set.pos),
            "teachers": [t.digest() for t in teachers],
            "weights": list(weights),
            "constraints": flags,
            "options": asdict(options),
            "restore_best": config.restore_best,
        }
        run_epochs(
            hist=hist,
            n=n,
            epochs=config.epochs,
            rng=rng,
            dev=dev,
            modules=modules,
            optimizers={"adam": opt},
            run_epoch=run_epoch,
            validate=None if val_set is None else validate,
            best_module=model,
            restore_best=config.restore_best,
            checkpoint=checkpoint,
            signature=signature,
            progress=config.progress,
            desc=f"{type(model).__name__} distilling",
            stop=config.stop,
        )
    model.eval()
    return hist
