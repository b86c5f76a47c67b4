"""The transfer-learning baselines of paper C's Table 1: (*) sequential and (**) collective
transfer of a specialised network across fingerprint datasets.

What paper C (Nguyen et al., arXiv 2412.12189) says about them -- all of it:

* Table 1, footnotes: "(*): Sequential Transfer-Learning using Encoder networks." and "(**):
  Collective Transfer-Learning using Encoder networks [17]", [17] = R. Klus, L. Klus,
  J. Talvitie, J. Pihlajasalo, J. Torres-Sospedra, M. Valkama, "Transfer learning for
  convolutional indoor positioning systems", IPIN 2021. The source/target pairs are those of the
  whole table (UTS & Tampere -> UJI, UJI & Tampere -> UTS, UJI & UTS -> Tampere).
* Sect. 2: "Klus et al. [17] adopted separate encoders to create input features of the same size
  across different RSS datasets for transfer learning. However, because of the holistic
  pre-training process on heterogeneous source datasets, the improvements on the target
  datasets remain somewhat limited." And, of "typical transfer-learning paradigms": they "adopt
  pre-trained networks on individual sources as initial points for the fine-tuning process on
  the target dataset", with "issues associated with forgetting".
* Sect. 1: "classical transfer-learning frameworks, whether implemented *sequentially* or
  *collectively*"; Sect. 4.2: the failures of * and ** (e.g. DNN* 61.29 m on UTS, BayesCNN**
  129.95 m on UJI) are put down to "basic transfer-learning schemes (e.g., sequential and
  holistic transfer), which employ irrelevant representations learned by their encoder
  networks".

Nothing more: no layer that is carried or re-initialised, no epochs per phase, no source order,
no word on freezing. Klus et al.'s paper itself could not be read from this workplace: the
document, page, code and issue corpora and the GitHub index searched here hold no copy of it, no
abstract and no code of theirs. The reconstruction below therefore rests on paper C's sentences
and on the F/E/R split of :mod:`ipsbook.models.fingerprint`; every choice in it is ours.

**The encoder.** Klus et al.'s "separate encoders ... create input features of the same size
across different RSS datasets": a per-dataset input network in front of a body shared by all
datasets. In paper C's split that is the Framer F, which by our definition is the part that reads
a dataset's anchor vector (a column is a different access point in each dataset, so what F
learns is dataset-specific even where its shape is not). The encoder of a dataset is therefore
(``encoder="framer"``, the default):

* F, the whole Framer, plus
* every layer whose parameter *shapes* depend on the number of anchors, wherever it sits (found
  by building the network at two probe anchor counts, :data:`PROBE_ANCHORS`, and comparing).

Everything else -- the Extractor E and the Regressor R -- is the shared body, carried from one
dataset to the next. Per model (``n`` = anchors):

========  ==============================================  ======================================
model     per-dataset encoder (re-initialised)            carried (shared body)
========  ==============================================  ======================================
DNN       F: Linear(n, 512)                               E (2 linear layers), R
CNNLoc    F: SAE encoder Linear(n, 128), Linear(128, 64)  E (the 1-D CNN), R
BayesCNN  F: VGG block 1; and E's Linear(64 (s//4)^2,     E's VGG block 2, R
          128), whose width depends on n (s = ceil(sqrt n))
bAaT      F: the word embedding Linear(16, 128)           E (transformer, [CLS]), R
========  ==============================================  ======================================

``encoder="anchor"`` re-initialises only the layers whose shapes depend on the anchor count
(DNN and CNNLoc: F's first layer; BayesCNN: E's fully connected layer; bAaT: nothing, so all of
it is carried -- it is anchor-agnostic by design), the minimal reading.

The Regressor is carried: positions are standardised per dataset (each model's ``pos_mean`` /
``pos_scale`` buffers are set from that dataset's training positions, as in stand-alone
training), so R predicts standardised coordinates in every dataset. Buffers are never carried.

**(*) Sequential** (:func:`sequential_transfer`): the network is trained stand-alone
(:func:`~.train.train_specialised`, J_MAE) on source 1; a network for source 2 gets source 1's
trained body and a fresh encoder, and is trained on source 2 (all of it); a network for the
target gets that body and a fresh encoder and is fine-tuned on the target -- "pre-trained
networks on individual sources as initial points for the fine-tuning", one source after the
other (whence the "forgetting" paper C mentions). Sources are used in the order given.

**(**) Collective** (:func:`collective_transfer`), our reconstruction of Klus et al.'s scheme
from paper C's description ("separate encoders", "holistic pre-training on heterogeneous source
datasets"): one network per source, each with its own encoder, all sharing one body -- the same
``nn.Parameter`` objects -- trained jointly on the pooled sources: each epoch is one pass over all
source fingerprints in random order, in mixed mini-batches of B = 128; each fingerprint goes
through its own dataset's encoder and the shared body, and J_MAE is the mean standardised
Euclidean error over the batch (so a larger source weighs more, as pooling implies). Then a
target network gets the jointly trained body and a fresh encoder and is trained on the target.

**Target phase**, both methods: ``shared="finetune"`` (default) trains everything;
``shared="frozen"`` freezes the carried body and trains only the fresh encoder (a new encoder
learns to map the target into the feature space the shared body already reads). With a
``val_set`` the best target epoch is restored, as in stand-alone training.

**SAE pre-training** (CNNLoc, ``sae_epochs`` > 0): whenever a network's framer is fresh weights
about to meet a dataset -- no part of it carried in from another network -- it is first
pre-trained as a stacked auto-encoder on that dataset (:func:`~.train.pretrain_framer`, the
CNNLoc authors' recipe), as CNNLoc does before its network is trained. With the default
``encoder="framer"`` that is every phase (each dataset's encoder is the whole, re-initialised
framer); with ``encoder="anchor"`` CNNLoc's second SAE layer is carried, so only the networks
that nothing is carried into are pre-trained (source 1 in (*), the first source's network in
(**)). Each pre-training is recorded as a phase ``"sae pre-training: <dataset>"`` just before
the phase it prepares.

**Schedule and seeds.** Each phase runs ``config.epochs`` epochs at ``config.lr`` (batch 128,
Adam), as :func:`~.train.train_specialised`; ``source_configs`` / ``source_config`` may give the
source phases their own datasets' schedules (the paper's are per dataset, Sect. 4.1). A phase's
seed, used to initialise its network, to pre-train its framer and to train it, is drawn from
``numpy.random.SeedSequence(seed)``; on CPU the result is bit-identical for a given seed. CPU by
default, CUDA when available (``TrainConfig.device``). With ``checkpoint_dir`` every phase
saves a :class:`~.train.Checkpoint` there, so an interrupted run resumes where it stopped.

**Converged training** (``TrainConfig.stop``, :mod:`.train`): every phase stops on a plateau
of its own validation error, its config's epochs being the cap. A source phase of (*) holds out
:func:`~.train.stop_split` of its source (seeded with the phase's seed); the joint phase of (**)
holds out that split of every source (seeded with the joint phase's seed) and watches the mean
error over all of them, as J_MAE pools the sources; the target phase watches ``val_set`` when
given, else its own split of the target. An SAE pre-training before a phase that holds
fingerprints out leaves them out too, so no phase trains on what it validates on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ...models.fingerprint import build
from ...torchutil import resolve_device, torch_session
from .data import FingerprintSet
from .train import (
    Checkpoint,
    TrainConfig,
    TrainHistory,
    _check_seed,
    autocast,
    check_anchors,
    data_digest,
    evaluate,
    has_sae,
    make_adam,
    model_inputs,
    pretrain_framer,
    representations,
    run_epochs,
    standardise_positions,
    standardised_targets,
    stop_split,
    train_specialised,
)

__all__ = [
    "ENCODERS",
    "PROBE_ANCHORS",
    "SHARED",
    "TransferHistory",
    "TransferPhase",
    "carry_over",
    "collective_transfer",
    "sequential_transfer",
    "split_parameters",
]

ENCODERS: tuple[str, ...] = ("framer", "anchor")
"""What is re-initialised per dataset: ``"framer"`` the whole F plus any anchor-dependent layer
(default), ``"anchor"`` only the layers whose parameter shapes depend on the anchor count."""

SHARED: tuple[str, ...] = ("finetune", "frozen")
"""How the carried body is treated in the target phase: trained, or frozen."""

PROBE_ANCHORS: tuple[int, int] = (64, 1024)
"""Anchor counts at which a network is built twice to find its anchor-dependent layers (they
differ in every size the four networks derive from ``n``: n itself, ceil(sqrt n) // 2 and // 4,
ceil(n / 16))."""

OnTransfer = Callable[[str, nn.Module, nn.Module], None]


# --- which parameters are carried ------------------------------------------------------------


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"model name must be a string; got {name!r}")
    build(name, PROBE_ANCHORS[0])  # ValueError "unknown model ..." for a bad name
    return name.lower()


def split_parameters(
    name: str, encoder: str = "framer", model_kw: Mapping[str, Any] | None = None
) -> tuple[list[str], list[str]]:
    """``(specific, carried)``: the parameter names of network ``name`` that form its per-dataset
    encoder (re-initialised for every dataset) and those of the shared body (carried over).

    A layer (module) is anchor-dependent when one of its own parameters has another shape in the
    network built for ``PROBE_ANCHORS[0]`` anchors than in the one built for
    ``PROBE_ANCHORS[1]``; all of that layer's parameters are then specific. With
    ``encoder="framer"`` every parameter of the Framer (``framer_net.*``) is specific as well.
    """
    _check_name(name)
    if encoder not in ENCODERS:
        raise ValueError(f"encoder={encoder!r}; allowed: {', '.join(map(repr, ENCODERS))}")
    kw = dict(model_kw or {})
    a, b = (build(name, n, **kw) for n in PROBE_ANCHORS)
    mods_b = dict(b.named_modules())
    specific: set[str] = set()
    for prefix, mod in a.named_modules():
        own = dict(mod.named_parameters(recurse=False))
        other = dict(mods_b[prefix].named_parameters(recurse=False))
        if any(p.shape != other[k].shape for k, p in own.items()):
            specific.update(f"{prefix}.{k}" if prefix else k for k in own)
    names = [k for k, _ in a.named_parameters()]
    if encoder == "framer":
        specific.update(k for k in names if k.startswith("framer_net."))
    return [k for k in names if k in specific], [k for k in names if k not in specific]


def carry_over(previous: nn.Module, model: nn.Module, names: Sequence[str]) -> None:
    """Copy the parameters ``names`` of ``previous`` into ``model`` (values, not objects)."""
    src, dst = dict(previous.named_parameters()), dict(model.named_parameters())
    with torch.no_grad():
        for k in names:
            if k not in src or k not in dst:
                raise ValueError(f"parameter {k!r} is missing from one of the two networks")
            if src[k].shape != dst[k].shape:
                raise ValueError(
                    f"parameter {k!r} has shape {tuple(src[k].shape)} in the previous network "
                    f"but {tuple(dst[k].shape)} in the new one: it cannot be carried over"
                )
            dst[k].copy_(src[k])


def _tie(owner: nn.Module, model: nn.Module, names: Sequence[str]) -> None:
    """Make ``model``'s parameters ``names`` the very ``nn.Parameter`` objects of ``owner``."""
    src = dict(owner.named_parameters())
    for k in names:
        prefix, _, leaf = k.rpartition(".")
        module = model.get_submodule(prefix) if prefix else model
        if getattr(module, leaf).shape != src[k].shape:
            raise ValueError(f"parameter {k!r} differs in shape between the source networks")
        setattr(module, leaf, src[k])


def _named_parameters(model: nn.Module, names: Sequence[str]) -> list[nn.Parameter]:
    params = dict(model.named_parameters())
    return [params[k] for k in names]


# --- history ---------------------------------------------------------------------------------


@dataclass
class TransferPhase:
    """One training phase: its name, the dataset(s) it trained on and its history."""

    name: str
    datasets: list[str]
    history: TrainHistory
    frozen_parameters: int = 0


@dataclass
class TransferHistory:
    """What a transfer baseline did: the phases in order (the last is the target phase), and
    which parameters formed the per-dataset encoder (``specific``, re-initialised per dataset)
    and the shared body (``carried``)."""

    method: str
    model: str
    encoder: str
    shared: str
    specific: list[str] = field(default_factory=list)
    carried: list[str] = field(default_factory=list)
    phases: list[TransferPhase] = field(default_factory=list)

    @property
    def target(self) -> TrainHistory:
        """The target phase's history."""
        return self.phases[-1].history

    @property
    def completed(self) -> bool:
        return bool(self.phases) and all(p.history.completed for p in self.phases)

    def summary(self) -> list[dict[str, Any]]:
        """One row per phase: epochs, mean epoch time (s), training samples/s, trainable and
        frozen parameters, training fingerprints, last J_MAE and best validation error (m)."""
        rows = []
        for p in self.phases:
            s = p.history.summary()
            rows.append(
                {
                    "method": self.method,
                    "model": self.model,
                    "phase": p.name,
                    "datasets": " + ".join(p.datasets),
                    "epochs": s["epochs"],
                    "epoch_s": s["epoch_s"],
                    "samples_per_s": s["samples_per_s"],
                    "n_train": s["n_train"],
                    "trainable_parameters": s["trainable_parameters"],
                    "frozen_parameters": p.frozen_parameters,
                    "final_J_MAE": s.get("final_J_MAE"),
                    "best_val_mae_m": s["best_val_mae_m"],
                    "device": s["device"],
                }
            )
        return rows


# --- shared checks -----------------------------------------------------------------------------


def _check_sets(sources: object, target_train: object, val_set: object) -> list[FingerprintSet]:
    if isinstance(sources, FingerprintSet) or not isinstance(sources, Sequence):
        raise TypeError(
            "sources must be a sequence (list or tuple) of FingerprintSet, one per source dataset"
        )
    sources = list(sources)
    if not sources:
        raise ValueError("sources is empty: a transfer baseline needs at least one source dataset")
    for i, fs in enumerate(sources, 1):
        if not isinstance(fs, FingerprintSet):
            raise TypeError(f"source {i} must be a FingerprintSet; got {type(fs).__name__}")
        if len(fs) == 0:
            raise ValueError(f"source {i} ({fs.label}) has no fingerprints")
    for what, fs in (("target_train", target_train), ("val_set", val_set)):
        if fs is None and what == "val_set":
            continue
        if not isinstance(fs, FingerprintSet):
            raise TypeError(f"{what} must be a FingerprintSet; got {type(fs).__name__}")
        if len(fs) == 0:
            raise ValueError(f"{what} has no fingerprints")
    if val_set is not None and val_set.n_anchors != target_train.n_anchors:
        raise ValueError(
            f"val_set has {val_set.n_anchors} anchors, target_train {target_train.n_anchors}: "
            "the validation set must come from the target dataset"
        )
    return sources


def _check_config(config: object, what: str = "config") -> TrainConfig:
    if not isinstance(config, TrainConfig):
        raise TypeError(f"{what} must be a TrainConfig; got {type(config).__name__}")
    return config


def _check_shared(shared: object) -> str:
    if shared not in SHARED:
        raise ValueError(f"shared={shared!r}; allowed: {', '.join(map(repr, SHARED))}")
    return str(shared)


def _check_frozen(name: str, encoder: str, shared: str, specific: list[str]) -> None:
    if shared == "frozen" and not specific:
        raise ValueError(
            f"nothing left to train: with encoder={encoder!r} every parameter of {name} is "
            "carried, and shared='frozen' would freeze them all (use encoder='framer' or "
            "shared='finetune')"
        )


def _phase_seeds(seed: int, k: int) -> list[int]:
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(k)]


def _build(name: str, fs: FingerprintSet, kw: Mapping[str, Any], seed: int) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build(name, fs.n_anchors, **kw)


def _checkpoint(
    checkpoint_dir: str | os.PathLike[str] | None,
    every: int,
    method: str,
    name: str,
    encoder: str,
    shared: str,
    k: int,
    what: str = "phase",
) -> Checkpoint | None:
    if checkpoint_dir is None:
        return None
    path = Path(checkpoint_dir) / f"{method}_{name}_{encoder}_{shared}_{what}{k}.pt"
    return Checkpoint(path, every_epochs=every)


def _check_sae_epochs(value: object, n_sets: int, name: str) -> list[int]:
    """``sae_epochs``: one non-negative int for every dataset, or one per source then the
    target's; a positive value needs a network with an SAE framer (CNNLoc)."""
    vals = list(value) if isinstance(value, Sequence) and not isinstance(value, str) \
        else [value] * n_sets
    if len(vals) != n_sets:
        raise ValueError(
            f"sae_epochs has {len(vals)} entries; give one int, or one per source followed by "
            f"the target's ({n_sets})"
        )
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"sae_epochs={value!r}: {v!r} is not a non-negative integer")
    if any(vals) and not has_sae(build(name, PROBE_ANCHORS[0])):
        raise ValueError(
            f"sae_epochs={value!r}, but {name} has no SAE framer to pre-train (only CNNLoc has "
            "one); pass sae_epochs=0"
        )
    return [int(v) for v in vals]


def _framer_is_own(specific: Sequence[str]) -> Callable[[nn.Module], bool]:
    """Whether every framer parameter of a network is in ``specific`` (nothing carried in)."""

    def own(model: nn.Module) -> bool:
        names = [f"framer_net.{k}" for k, _ in model.framer_net.named_parameters()]
        return set(names) <= set(specific)

    return own


def _pretrain(
    hist: TransferHistory,
    model: nn.Module,
    fs: FingerprintSet,
    epochs: int,
    cfg: TrainConfig,
    seed: int,
    checkpoint: Checkpoint | None,
    holdout_seed: int | None = None,
) -> None:
    """SAE pre-training of ``model``'s framer on ``fs`` (nothing when ``epochs`` is 0), recorded
    as a phase of its own. With ``cfg.stop`` and ``holdout_seed`` (the seed of the phase that
    will hold out :func:`~.train.stop_split` of ``fs``), those fingerprints are left out."""
    if epochs <= 0:
        return
    if cfg.stop is not None and holdout_seed is not None:
        fs = stop_split(fs, cfg.stop, holdout_seed)[0]
    h = pretrain_framer(
        model, fs, epochs=epochs, seed=seed, num_threads=cfg.num_threads, device=cfg.device,
        amp=cfg.amp, checkpoint=checkpoint, progress=cfg.progress,
    )
    hist.phases.append(TransferPhase(f"sae pre-training: {fs.label}", [fs.label], h))


def _train_target(
    *,
    model: nn.Module,
    previous: nn.Module,
    carried: list[str],
    phase: str,
    target_train: FingerprintSet,
    val_set: FingerprintSet | None,
    config: TrainConfig,
    seed: int,
    shared: str,
    checkpoint: Checkpoint | None,
    on_transfer: OnTransfer | None,
    pretrain: Callable[[nn.Module], None] | None = None,
) -> tuple[TrainHistory, int]:
    """Carry the body into the target network, freeze it if asked, pre-train its framer if
    asked (after ``on_transfer``), train, unfreeze."""
    carry_over(previous, model, carried)
    frozen = _named_parameters(model, carried) if shared == "frozen" else []
    n_frozen = sum(p.numel() for p in frozen)
    for p in frozen:
        p.requires_grad_(False)
    try:
        if on_transfer is not None:
            on_transfer(phase, previous, model)
        if pretrain is not None:
            pretrain(model)
        hist = train_specialised(
            model, target_train, val_set, config=config, seed=seed, checkpoint=checkpoint
        )
    finally:
        for p in frozen:
            p.requires_grad_(True)
    return hist, n_frozen


# --- (*) sequential transfer ---------------------------------------------------------------------


def sequential_transfer(
    name: str,
    sources: Sequence[FingerprintSet],
    target_train: FingerprintSet,
    *,
    config: TrainConfig,
    seed: int,
    val_set: FingerprintSet | None = None,
    source_configs: TrainConfig | Sequence[TrainConfig] | None = None,
    encoder: str = "framer",
    shared: str = "finetune",
    model_kw: Mapping[str, Any] | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 1,
    on_transfer: OnTransfer | None = None,
    sae_epochs: int | Sequence[int] = 0,
) -> tuple[nn.Module, TransferHistory]:
    """Table 1's (*): network ``name`` trained on source 1, then on source 2, ..., then on the
    target, its body carried from each dataset to the next and its encoder re-initialised (see
    the module docstring for what is which).

    ``config``: epochs/lr of the target phase (and of every source phase unless
    ``source_configs`` gives one TrainConfig for all of them or one per source). ``encoder``:
    one of :data:`ENCODERS`; ``shared``: one of :data:`SHARED` (the target phase only; source
    phases train everything). ``model_kw`` goes to :func:`ipsbook.models.fingerprint.build`.
    ``on_transfer(phase, previous, model)`` is called right after each carry-over, before that
    phase trains (``model`` already frozen where asked). ``sae_epochs``: SAE pre-training epochs
    of each network whose framer is fresh (module docstring; CNNLoc only), one int for every
    dataset or one per source followed by the target's; 0 = none. Returns the trained target
    network (eval mode, on the training device) and a :class:`TransferHistory`.

    Raises:
        ValueError: unknown model name or option, empty ``sources``, an empty set, a bad seed,
            a ``val_set`` of another anchor count than the target, ``shared="frozen"`` with
            nothing left to train, a negative ``sae_epochs`` or a positive one for a network
            without an SAE framer.
        TypeError: a name that is not a string, sources not a sequence of FingerprintSet, a
            config not a TrainConfig.
    """
    name = _check_name(name)
    sources = _check_sets(sources, target_train, val_set)
    config = _check_config(config)
    if source_configs is None or isinstance(source_configs, TrainConfig):
        src_cfgs = [_check_config(source_configs or config, "source_configs")] * len(sources)
    else:
        src_cfgs = [_check_config(c, "source_configs[i]") for c in source_configs]
        if len(src_cfgs) != len(sources):
            raise ValueError(
                f"source_configs has {len(src_cfgs)} entries for {len(sources)} sources"
            )
    shared = _check_shared(shared)
    seed = _check_seed(seed)
    specific, carried = split_parameters(name, encoder, model_kw)
    _check_frozen(name, encoder, shared, specific)
    sae = _check_sae_epochs(sae_epochs, len(sources) + 1, name)
    own = _framer_is_own(specific)
    kw = dict(model_kw or {})
    seeds = _phase_seeds(seed, len(sources) + 1)
    hist = TransferHistory("sequential", name, encoder, shared, specific, carried)

    def ckpt(k: int, what: str = "phase") -> Checkpoint | None:
        return _checkpoint(
            checkpoint_dir, checkpoint_every, "sequential", name, encoder, shared, k, what
        )

    previous: nn.Module | None = None
    for k, (fs, cfg) in enumerate(zip(sources, src_cfgs, strict=True)):
        phase = f"source {k + 1}: {fs.label}"
        model = _build(name, fs, kw, seeds[k])
        if previous is not None:
            carry_over(previous, model, carried)
            if on_transfer is not None:
                on_transfer(phase, previous, model)
        if previous is None or own(model):
            _pretrain(hist, model, fs, sae[k], cfg, seeds[k], ckpt(k, "sae"), seeds[k])
        h = train_specialised(model, fs, config=cfg, seed=seeds[k], checkpoint=ckpt(k))
        hist.phases.append(TransferPhase(phase, [fs.label], h))
        previous = model
    assert previous is not None
    k = len(sources)
    phase = f"target: {target_train.label}"
    model = _build(name, target_train, kw, seeds[k])

    def pretrain_target(m: nn.Module) -> None:
        if own(m):
            _pretrain(hist, m, target_train, sae[k], config, seeds[k], ckpt(k, "sae"),
                      seeds[k] if val_set is None else None)

    h, n_frozen = _train_target(
        model=model,
        previous=previous,
        carried=carried,
        phase=phase,
        target_train=target_train,
        val_set=val_set,
        config=config,
        seed=seeds[k],
        shared=shared,
        checkpoint=ckpt(k),
        on_transfer=on_transfer,
        pretrain=pretrain_target,
    )
    hist.phases.append(TransferPhase(phase, [target_train.label], h, n_frozen))
    return model, hist


# --- (**) collective transfer --------------------------------------------------------------------


def _train_jointly(
    models: list[nn.Module],
    sources: list[FingerprintSet],
    carried: list[str],
    *,
    config: TrainConfig,
    seed: int,
    checkpoint: Checkpoint | None,
) -> TrainHistory:
    """One network per source, their bodies tied, trained on the pooled sources with J_MAE.
    With ``config.stop``: each source's :func:`~.train.stop_split` (``seed``) is held out and
    the mean error over all held-out fingerprints is the validation value."""
    for m, fs in zip(models, sources, strict=True):
        check_anchors(m, fs, f"source {fs.label}")
    held: list[FingerprintSet] = []
    if config.stop is not None:
        parts = [stop_split(fs, config.stop, seed) for fs in sources]
        sources, held = [a for a, _ in parts], [b for _, b in parts]
    dev = resolve_device(config.device)
    B = config.batch_size
    x_np = [model_inputs(m, fs) for m, fs in zip(models, sources, strict=True)]
    for m, x in zip(models, x_np, strict=True):
        if hasattr(m, "check_input"):
            m.check_input(x)
    sizes = [len(fs) for fs in sources]
    n = sum(sizes)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    rng = np.random.default_rng(seed)
    with torch_session(seed, dev, config.num_threads):
        for m, fs in zip(models, sources, strict=True):
            m.to(dev)
            standardise_positions(m, fs.pos)
        for m in models[1:]:
            _tie(models[0], m, carried)
        params: list[nn.Parameter] = []
        seen: set[int] = set()
        for m in models:
            for p in m.parameters():
                if p.requires_grad and id(p) not in seen:
                    seen.add(id(p))
                    params.append(p)
        hist = TrainHistory(
            kind="collective-sources",
            n_train=n,
            samples_per_epoch=n,
            trainable_parameters=sum(p.numel() for p in params),
            device=str(dev),
            n_val=sum(len(h) for h in held),
        )
        xs = [torch.as_tensor(x, device=dev) for x in x_np]
        ys = [standardised_targets(m, fs.pos, dev) for m, fs in zip(models, sources, strict=True)]
        opt = make_adam(params, config.lr)
        steps = -(-n // B)

        def run_epoch(order: torch.Tensor) -> dict[str, float]:
            for m in models:
                m.train()
            total = torch.zeros((), device=dev)
            for s in range(steps):
                idx = order[s * B : (s + 1) * B]
                err = torch.zeros((), device=dev)
                for j, m in enumerate(models):
                    sel = idx[(idx >= offsets[j]) & (idx < offsets[j + 1])] - offsets[j]
                    if sel.numel() == 0:
                        continue
                    with autocast(dev, config.amp, config.cpu_bf16):
                        _, _, y_hat = representations(m, xs[j][sel])
                    err = err + (y_hat.float() - ys[j][sel]).norm(dim=1).sum()
                loss = err / len(idx)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += err.detach()
            j_mae = float(total) / n
            return {"loss": j_mae, "J_MAE": j_mae}

        def validate() -> float:
            return float(np.mean(np.concatenate([
                evaluate(m, h, config.eval_batch_size)
                for m, h in zip(models, held, strict=True)
            ])))

        signature = {
            "kind": "collective-sources",
            "seed": seed,
            "model": type(models[0]).__name__,
            "parameters": hist.trainable_parameters,
            "lr": config.lr,
            "batch_size": B,
            "data": [data_digest(x, fs.pos) for x, fs in zip(x_np, sources, strict=True)],
            "carried": list(carried),
        }
        run_epochs(
            hist=hist,
            n=n,
            epochs=config.epochs,
            rng=rng,
            dev=dev,
            modules={f"source{j}": m for j, m in enumerate(models)},
            optimizers={"adam": opt},
            run_epoch=run_epoch,
            checkpoint=checkpoint,
            signature=signature,
            progress=config.progress,
            desc=f"{type(models[0]).__name__} collective sources",
            validate=None if config.stop is None else validate,
            best_module=None if config.stop is None else nn.ModuleList(models),
            stop=config.stop,
        )
    for m in models:
        m.eval()
    return hist


def collective_transfer(
    name: str,
    sources: Sequence[FingerprintSet],
    target_train: FingerprintSet,
    *,
    config: TrainConfig,
    seed: int,
    val_set: FingerprintSet | None = None,
    source_config: TrainConfig | None = None,
    encoder: str = "framer",
    shared: str = "finetune",
    model_kw: Mapping[str, Any] | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 1,
    on_transfer: OnTransfer | None = None,
    sae_epochs: int | Sequence[int] = 0,
) -> tuple[nn.Module, TransferHistory]:
    """Table 1's (**), Klus et al.'s collective transfer as we reconstruct it (module
    docstring): per-source encoders and one shared body trained jointly on all sources, then a
    fresh target encoder with the body carried over, fine-tuned (``shared="finetune"``) or
    frozen (``"frozen"``), on the target.

    ``config``: epochs/lr of the target phase, and of the joint source phase unless
    ``source_config`` is given (one epoch of the joint phase = one pass over all source
    fingerprints). ``on_transfer(phase, previous, model)`` is called right after the body is
    carried into the target network (``previous``: the network of source 1, which holds the
    shared parameters). ``sae_epochs``: as in :func:`sequential_transfer`; each source's network
    is pre-trained on its own source before the joint phase. Other arguments, the return value
    and the errors as in :func:`sequential_transfer`.
    """
    name = _check_name(name)
    sources = _check_sets(sources, target_train, val_set)
    config = _check_config(config)
    src_cfg = _check_config(source_config or config, "source_config")
    shared = _check_shared(shared)
    seed = _check_seed(seed)
    specific, carried = split_parameters(name, encoder, model_kw)
    _check_frozen(name, encoder, shared, specific)
    sae = _check_sae_epochs(sae_epochs, len(sources) + 1, name)
    own = _framer_is_own(specific)
    kw = dict(model_kw or {})
    seeds = _phase_seeds(seed, len(sources) + 2)
    hist = TransferHistory("collective", name, encoder, shared, specific, carried)

    def ckpt(k: int, what: str = "phase") -> Checkpoint | None:
        return _checkpoint(
            checkpoint_dir, checkpoint_every, "collective", name, encoder, shared, k, what
        )

    models = [_build(name, fs, kw, seeds[i]) for i, fs in enumerate(sources)]
    for i, (m, fs) in enumerate(zip(models, sources, strict=True)):
        if i == 0 or own(m):  # the others' carried framer layers become the first network's
            _pretrain(hist, m, fs, sae[i], src_cfg, seeds[i], ckpt(i, "sae"),
                      seeds[len(sources)])
    h = _train_jointly(
        models, sources, carried, config=src_cfg, seed=seeds[len(sources)], checkpoint=ckpt(0)
    )
    labels = [fs.label for fs in sources]
    hist.phases.append(TransferPhase(f"sources (jointly): {' + '.join(labels)}", labels, h))
    phase = f"target: {target_train.label}"
    model = _build(name, target_train, kw, seeds[-1])
    k = len(sources)

    def pretrain_target(m: nn.Module) -> None:
        if own(m):
            _pretrain(hist, m, target_train, sae[k], config, seeds[-1], ckpt(k, "sae"),
                      seeds[-1] if val_set is None else None)

    h, n_frozen = _train_target(
        model=model,
        previous=models[0],
        carried=carried,
        phase=phase,
        target_train=target_train,
        val_set=val_set,
        config=config,
        seed=seeds[-1],
        shared=shared,
        checkpoint=ckpt(1),
        on_transfer=on_transfer,
        pretrain=pretrain_target,
    )
    hist.phases.append(TransferPhase(phase, [target_train.label], h, n_frozen))
    return model, hist
