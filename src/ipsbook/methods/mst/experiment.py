"""Paper C's experiments (Nguyen et al., arXiv 2412.12189): Tables 1-4, Fig. 2 and kNN rows.

One call, :func:`run_all`, trains and evaluates everything a set of tables needs and returns
:class:`Results`: tidy per-sample errors (one row per test fingerprint of every table row) and
one row per training phase; :meth:`Results.summary` and :meth:`Results.partition_summary` make
the tables (MAE, p75, p95, P(error < 10 m)). Fig. 2's ECDFs (stand-alone dashed, enhanced
solid) come straight from the per-sample errors of Table 1 (``ipsbook.metrics.ecdf``). The
chapter's notebooks only select and format::

    cfg = profiles.resolve("mst", PROFILE)
    res = run_all(Settings.from_profile(cfg), ["table1"], artefacts_dir=ARTEFACTS,
                  workers=cfg.workers)
    res.summary("table1")        # MAE, p75, p95, P(<10 m), gain_pct vs stand-alone
    res.partition_summary()      # Table 4: mean and std over the partitions
    # the paper's exact pairs, for a user who has the UTS files:
    Settings.from_profile(cfg, third="uts")

**The runs.** Every table row is one *run* (:class:`Run`); rows of different tables that are the
same experiment share one run (Table 1's ``+++`` is Table 2's ``+++`` and Table 3's two-source
row; bAaT's Table 1 ``++`` is its Table 2 ``++``). Kinds:

* ``expert`` (Expert Training, per dataset, model and seed): the specialised model trained
  stand-alone on the dataset's training set (:func:`.train.train_specialised`), then its surrogate
  teacher G_i (:func:`.teachers.train_teacher`), and the model evaluated on the dataset's test
  set. It is the *stand-alone* row of Tables 1-3 when the dataset is the target, and the source
  of teachers when it is a source: Tables 1-4 reuse the same experts.
* ``distill`` (Expert Distilling, :func:`.distill.distill`): a fresh model trained on the target
  with the teachers of one or two sources and a constraint set (Table 2's symbols,
  :data:`.distill.ABLATIONS`); Table 1's ``+++`` (bAaT: ``++``, no J_FI), Table 2's ablations,
  Table 3's one-source rows (``†`` the first source, ``‡`` the second), Table 4's enhanced rows.
* ``sequential`` / ``collective``: Table 1's ``*`` and ``**`` (:mod:`.transfer`).
* ``standalone``: a model trained alone on a Table 4 partition (1 % or 10 % of the target's
  training set, ``data.subsample`` with the partition number as seed).
* ``knn``: beyond the paper, distance-weighted kNN (k = 3, 4, 5, missing -> -110 dBm) on the
  same training set as the networks of that row (:mod:`.knn`), one row per k.

**CNNLoc's SAE pre-training.** CNNLoc pre-trains its stacked auto-encoder before its network is
trained (the authors' code; :func:`.train.pretrain_framer`). Here every CNNLoc network that meets
a dataset with fresh weights has its framer pre-trained on that training set first, for
``Settings.sae_epochs[dataset]`` epochs (0 = off), with the run's seed: the stand-alone model of
an expert, a Table 4 stand-alone partition model, every distilling run's model (so a stand-alone
model and its distilled counterpart still start from the same, pre-trained, weights), and in the
transfer baselines every phase whose framer is fresh -- with the default ``encoder="framer"`` all
of them, since each dataset's encoder (the whole framer) is re-initialised; see
:mod:`.transfer`. Each pre-training is a row of ``Results.training``: phase ``"sae pre-training"``
(transfer runs: ``"sequential sae pre-training: UJI"`` ...). The other three networks have no
SAE; ``sae_epochs`` enters only CNNLoc runs' digests, and only when positive.

**Pairs.** Sources of a target are the other two of (UJI, third, Tampere) in that order, so the
paper's pairs come out with ``third="uts"`` (UTS & Tampere -> UJI, UJI & Tampere -> UTS, UJI &
UTS -> Tampere; Table 3's † / ‡ in the paper's order) and ours with the default
``third="uji-lib"``: UJI-LIB & Tampere -> UJI, UJI & Tampere -> UJI-LIB, UJI & UJI-LIB ->
Tampere. Labels come from :func:`.data.label`: UJI-LIB is "UJI-LIB", never "UTS".

**Seeds.** A run with seed s builds its network under ``torch.manual_seed(s)`` and trains with
seed s, so a stand-alone model and its distilled counterpart start from the same weights and
see the same batches in the same order: the comparison is paired. The teachers of a
distilling run with seed s are the experts of seed s; Table 4's partition p trains with seed p
and uses the experts of the first seed. Model selection: none (the last epoch's weights; the
paper says nothing about it, and a validation split would shrink the 1 % partitions further),
except under a stop rule.

**Converged training** (``Settings.stop``, the ``full`` profile's
:class:`ipsbook.training.StopRule`; None under smoke / quick / paper): every phase trained with
a :class:`.train.TrainConfig` -- stand-alone, distilling, the transfer baselines' phases --
runs until the mean error on its validation split stops improving, the profile's epochs being
the cap, with the learning rate lowered on plateaus and the best epoch's weights kept
(:func:`.train.run_epochs`). The validation split is carved from the run's *training* set by
:func:`.train.stop_split` (``stop.val_fraction`` of it, whole reference points at a time,
seeded with the run's seed, so a stand-alone model and its distilled counterpart hold out the
same fingerprints); the test set is never looked at, and the networks (and CNNLoc's SAE
pre-training) train on the rest. The surrogate teachers (a WGAN-GP has no validation error
that says when a generator is good enough to distil from) and the SAE pre-training (the
CNNLoc authors' fixed ``epoch_sae``) keep their fixed epochs. The rule enters the digests of
what it trains only when it is set, so the smoke / quick / paper artefacts stay valid.

**Same numbers in and out of process.** Every run executes inside its own
:func:`ipsbook.torchutil.torch_session` (seeded, deterministic algorithms on CPU,
``Settings.num_threads`` threads, evaluation included) and kNN under ``threadpool_limits(1)``;
with ``workers`` > 1 the runs go to spawned processes that read the experts from
``artefacts_dir``. The errors do not depend on ``workers`` (tested).

**On a Dask cluster** (``scheduler``: the address of an existing ``distributed`` scheduler,
e.g. ``tcp://10.0.0.5:8786``, the same cluster ``ipsbook run --scheduler`` uses): the same
scheduling loop as the local pool (experts first, the dearest ready run next, as many runs in
flight as the cluster has worker threads) hands each run to the cluster instead of a local
process. A worker needs no shared folder: a distilling run receives its teachers with the task
and an expert comes back with its result (both pickled), and this process keeps them under
``artefacts_dir`` as the local path does. Runs within one worker process take turns (torch's
random state and thread count belong to the process), so the numbers are those of the local
pool, bit for bit (tested on a ``LocalCluster``). The workers need the package and the data
(``IPSBOOK_DATA_DIR``, or the downloads) like any process that runs paper C.

**Artefacts.** With ``artefacts_dir`` every expert (model weights, teacher), every run's errors
and every training checkpoint (:class:`.train.Checkpoint`, every ``checkpoint_every`` epochs) is
kept on disk under a digest of the settings the artefact depends on (and ``CACHE_VERSION``), so
a second notebook reuses the first one's experts and runs, and an interrupted ``paper`` run
resumes where it stopped. Changing a setting changes the digests of what depends on it only.

**Measured cost** (this 2-core AMD EPYC, 1 torch thread, batch 128; milliseconds per training
fingerprint per epoch, :data:`EPOCH_MS`; per-dataset subsets of 1,024 (DNN, CNNLoc) / 512
(BayesCNN, bAaT) fingerprints, second epoch; "distil" = Expert Distilling with two teachers,
all constraints (bAaT without J_FI); "SAE" = CNNLoc's SAE pre-training, batch 66, on the whole
training sets, median of epochs 2 onwards, median of 3-5 repeats)::

    model     phase        UJI    Tampere  UJI-LIB
    DNN       stand-alone  0.075  0.102    0.085
              teacher      0.133  0.158    0.143
              distil       0.307  0.372    0.356
    CNNLoc    stand-alone  0.363  0.381    0.385
              teacher      0.068  0.078    0.074
              distil       0.545  0.562    0.592
    BayesCNN  stand-alone  0.900  2.002    1.048
              teacher      0.429  0.971    0.505
              distil       1.391  2.353    1.504
    bAaT      stand-alone  0.306  0.593    0.184
              teacher      0.467  0.860    0.589
              distil       0.586  0.854    0.487
    CNNLoc    SAE          0.020  0.030    0.022

BayesCNN's and bAaT's rows (and their evaluation) were measured again after their speed-ups
(in-place ReLUs; bAaT computing only the words that carry something), by ``make bench``
(``benchmarks/bench_mst.py``, the same protocol, median of 3 repeats) on 2026-12-07; the other
rows predate it and still hold within about 0.7-1.2x (the performance page shows each cell's
ratio). A stand-alone epoch on the whole UJI training set (19,937) therefore takes 1.5 s (DNN),
7.2 s (CNNLoc), 18 s (BayesCNN) and 6.1 s (bAaT); an SAE pre-training epoch of CNNLoc 0.40 s.
:func:`estimate` turns these numbers into the cost of a plan (every phase's epochs x
fingerprints x ms, plus evaluation and the teachers' forward pass).

**Profiles** (``profiles.resolve("mst", profile)``; the arithmetic is in the comment there):

* ``smoke``: DNN only, target Tampere (with its sources UJI and UJI-LIB), 48 training and 64
  test fingerprints per set, 1 epoch, 2 partitions: seconds.
* ``quick``: the whole chapter within 25 minutes on this 2-core CPU (``workers=2``, one torch
  thread each). Table 1 with all four models (its ``*`` / ``**`` rows, three trainings each,
  for DNN and CNNLoc only: for BayesCNN and bAaT they alone would cost about 1,300 CPU-s);
  Table 2 with DNN and CNNLoc; Tables 3-4 with DNN; the full training sets; every phase on UJI
  3 epochs (468 Adam steps: DNN reaches 12.8 m, CNNLoc 29 m), on Tampere and UJI-LIB 40 (240 /
  200 steps), teachers likewise; Table 4's partitions 30 (UJI) / 200 (Tampere, UJI-LIB)
  epochs, so a 10 % partition gets about the steps of its full set (UJI 1 %: 60), five
  partitions; CNNLoc's SAE pre-training 5 epochs on UJI (2 s, 97 % of the reconstruction gain
  of 40), the authors' 40 on Tampere and UJI-LIB. :func:`estimate`: 129 runs, 1,734 CPU-s
  (2,296 before bAaT's and BayesCNN's speed-ups: 12 experts 711 + the rest of Table 1 938 +
  Table 2 414 + Table 3 47 + Table 4 187); on two workers about 870 s of compute. Measured
  before the SAE pre-training was added (estimate 2,256 CPU-s then; the pre-training adds 40) with
  ``run_all(Settings.from_profile("quick"), workers=2)``, fresh ``artefacts_dir``, otherwise
  idle machine: 773 s (12.9 min; the runs' own wall times sum to 1,537 s, 0.68 of the estimate,
  which errs on the safe side; 862 s for the first 117 of them while another test run shared
  the CPU for five minutes); the 40 CPU-s add about 15 s of wall time on two workers. A second
  call with the same ``artefacts_dir`` takes about a second. The notebooks' start-up, data
  loading and plotting fit in the rest of the 25 minutes.
* ``paper``: Sect. 4.1: UJI 500 epochs @ 1e-3, Tampere 2000 @ 1e-3, UTS 400 @ 1e-4, batch 128,
  all four models in all tables, ten partitions, the full training sets; CNNLoc's SAE
  pre-training 40 epochs on every dataset (the authors' ``epoch_sae``). UJI-LIB gets Tampere's
  2000 epochs @ 1e-3: the paper's schedule follows the set's size (the two small sets get the
  most epochs), and UJI-LIB (576 fingerprints, 5 batches an epoch) is Tampere-sized (697); UTS's
  400 epochs @ 1e-4 would give it 2,000 Adam steps at a tenth of the rate where UTS itself
  (9,108 fingerprints) gets 28,800. Teachers train for their dataset's epochs (the paper states
  one schedule for all phases) at the WGAN-GP rate 1e-4. :func:`estimate`: 483 runs, 484,000
  CPU-s = 134 CPU-hours with one thread per run (distilling 287,000 s, the transfer baselines
  134,000, experts 38,000, Table 4's stand-alone models 24,000; BayesCNN 256,000 of it all,
  bAaT 97,000), i.e. about 67 hours (2.8 days) of wall time on this machine's two cores (827,000
  CPU-s, bAaT half of it, before bAaT's and BayesCNN's speed-ups). What a GPU would take
  cannot be measured here: no accelerator is on this machine or lent to this task. These
  networks are small (0.27-0.67 M parameters) and batches of 128 leave a GPU mostly idle, so
  its speed-up should come from a measured GPU epoch (``TrainHistory.epoch_s`` of a short run
  with ``device="cuda"``), not from an assumed factor.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from ...models.fingerprint import MODELS, SAE_MODELS, build
from ...progress import tqdm
from ...torchutil import resolve_device, torch_session
from ...training import StopRule
from . import data
from .distill import ABLATIONS, DistillOptions, distill
from .knn import K_VALUES, MISSING_DBM, knn_errors
from .losses import DEFAULT_LAMBDAS, mi_no_information, normalise_lambdas
from .teachers import Teacher, TeacherConfig, train_teacher
from .train import (
    CNNLOC_POWER,
    SAE_EPOCHS,
    STOP_SUMMARY_KEYS,
    Checkpoint,
    TrainConfig,
    evaluate,
    pretrain_framer,
    stop_split,
    summary,
    train_specialised,
)
from .transfer import ENCODERS, SHARED, collective_transfer, sequential_transfer

__all__ = [
    "CACHE_VERSION",
    "CODE_MODULES",
    "EPOCH_MS",
    "FULL_SIZES",
    "MODEL_LABELS",
    "TABLES",
    "VARIANTS",
    "Results",
    "Row",
    "Run",
    "Settings",
    "code_digest",
    "estimate",
    "full_variant",
    "parse_cpu_bf16",
    "partition_stats",
    "plan",
    "run_all",
    "sources_of",
    "summarise",
]

CACHE_VERSION = 1
"""Part of every artefact's digest: raise it when a code change makes stored artefacts stale."""

RESULT_FORMAT = 2
"""What a stored run result holds (``result.json``'s ``format``): 2 added the validation curve
of every trained phase (:attr:`Results.validation`). A stored result of another format is made
again from the run's finished checkpoints, which replay the training at once (their histories,
weights and random states are kept), so it costs an evaluation, not a training."""

TABLES: tuple[str, ...] = ("table1", "table2", "table3", "table4")

MODEL_LABELS: dict[str, str] = {
    "dnn": "DNN",
    "cnnloc": "CNNLoc",
    "bayescnn": "BayesCNN",
    "baat": "bAaT",
}

VARIANTS: dict[str, tuple[str, ...]] = {
    # the rows of each table per model, in the paper's order ("+++" reads "++" for bAaT in
    # Tables 1, 3 and 4, whose bAaT row has no J_FI); kNN rows ("k=3", ...) come on top
    "table1": ("stand-alone", "*", "**", "+++"),
    "table2": ("stand-alone", "+", "*", "++", "°", "+++"),
    "table3": ("stand-alone", "†", "‡", "+++"),
    "table4": ("stand-alone", "+++"),
}

FULL_SIZES: dict[str, int] = {"ujiindoorloc": 19937, "tampere": 697, "uji-lib": 576, "uts": 9108}
"""Training fingerprints of each dataset's paper split (for :func:`estimate`)."""
_TEST_SIZES: dict[str, int] = {"ujiindoorloc": 1111, "tampere": 3951, "uji-lib": 3120, "uts": 388}

EPOCH_MS: dict[str, dict[str, dict[str, float]]] = {
    # measured: ms per training fingerprint per epoch, 1 torch thread (module docstring)
    "standalone": {
        "dnn": {"ujiindoorloc": 0.075, "tampere": 0.102, "uji-lib": 0.085},
        "cnnloc": {"ujiindoorloc": 0.363, "tampere": 0.381, "uji-lib": 0.385},
        "bayescnn": {"ujiindoorloc": 0.900, "tampere": 2.002, "uji-lib": 1.048},
        "baat": {"ujiindoorloc": 0.306, "tampere": 0.593, "uji-lib": 0.184},
    },
    "teacher": {
        "dnn": {"ujiindoorloc": 0.133, "tampere": 0.158, "uji-lib": 0.143},
        "cnnloc": {"ujiindoorloc": 0.068, "tampere": 0.078, "uji-lib": 0.074},
        "bayescnn": {"ujiindoorloc": 0.429, "tampere": 0.971, "uji-lib": 0.505},
        "baat": {"ujiindoorloc": 0.467, "tampere": 0.860, "uji-lib": 0.589},
    },
    "distill": {
        "dnn": {"ujiindoorloc": 0.307, "tampere": 0.372, "uji-lib": 0.356},
        "cnnloc": {"ujiindoorloc": 0.545, "tampere": 0.562, "uji-lib": 0.592},
        "bayescnn": {"ujiindoorloc": 1.391, "tampere": 2.353, "uji-lib": 1.504},
        "baat": {"ujiindoorloc": 0.586, "tampere": 0.854, "uji-lib": 0.487},
    },
    "sae": {  # SAE pre-training of the framer (CNNLoc only), batch 66, whole training sets
        "cnnloc": {"ujiindoorloc": 0.020, "tampere": 0.030, "uji-lib": 0.022},
    },
    "eval": {  # one forward pass in eval mode, batches of 4096
        "dnn": {"ujiindoorloc": 0.015, "tampere": 0.028, "uji-lib": 0.013},
        "cnnloc": {"ujiindoorloc": 0.115, "tampere": 0.166, "uji-lib": 0.102},
        "bayescnn": {"ujiindoorloc": 0.301, "tampere": 0.674, "uji-lib": 0.362},
        "baat": {"ujiindoorloc": 0.101, "tampere": 0.199, "uji-lib": 0.089},
    },
}
_KNN_S_PER_PAIR = 5e-8  # kNN (brute force, 1 thread): seconds per (train, test) pair per k

_PAPER_ORDER = ("ujiindoorloc", "third", "tampere")
_KINDS = ("expert", "standalone", "sequential", "collective", "distill", "knn")


def full_variant(model: str) -> str:
    """The fully enhanced row's symbol: ``"+++"``, or ``"++"`` for bAaT (no J_FI, Sect. 4.3)."""
    return "++" if _model(model) == "baat" else "+++"


def _model(name: object) -> str:
    key = name.lower() if isinstance(name, str) else None
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; allowed: {', '.join(map(repr, MODELS))}")
    return key


def _dataset(name: object) -> str:
    return data._canonical(name)  # ValueError naming the allowed datasets


def sources_of(target: str, third: str = "uji-lib") -> tuple[str, str]:
    """The two source datasets of ``target``: the other two of (UJI, ``third``, Tampere), in that
    order (Table 3's † is the first, ‡ the second)."""
    order = [third if d == "third" else d for d in _PAPER_ORDER]
    target = _dataset(target)
    if target not in order:
        raise ValueError(f"target {target!r} is not one of {order} (third={third!r})")
    a, b = (d for d in order if d != target)
    return a, b


# --- settings ------------------------------------------------------------------------------


def _per_dataset(value: Any, what: str, check: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a mapping dataset -> value; got {type(value).__name__}")
    return {_dataset(k): check(f"{what}[{k!r}]", v) for k, v in value.items()}


def _pos_int(what: str, v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{what}={v!r} must be a positive integer")
    return int(v)


def _pos_float(what: str, v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
        raise ValueError(f"{what}={v!r} must be a positive number")
    return float(v)


def _nonneg_int(what: str, v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
        raise ValueError(f"{what}={v!r} must be a non-negative integer")
    return int(v)


def _cap(what: str, v: object) -> int | None:
    return None if v is None else _pos_int(what, v)


def _fractions(what: str, v: object) -> tuple[float, ...]:
    vals = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    for f in vals:
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f <= 1:
            raise ValueError(f"{what}: fraction {f!r} must be in (0, 1]")
    return tuple(float(f) for f in vals)


def _seeds(what: str, v: object) -> tuple[int, ...]:
    vals = tuple(v) if isinstance(v, (tuple, list)) else None
    if not vals:
        raise ValueError(f"{what}={v!r} must be a non-empty tuple of non-negative integers")
    for s in vals:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"{what}: {s!r} is not a non-negative integer")
    if len(set(vals)) != len(vals):
        raise ValueError(f"{what}={v!r} has repeated values")
    return tuple(int(s) for s in vals)


_PAPER_EPOCHS = {"ujiindoorloc": 500, "tampere": 2000, "uji-lib": 2000, "uts": 400}
_PAPER_LR = {"ujiindoorloc": 1e-3, "tampere": 1e-3, "uji-lib": 1e-3, "uts": 1e-4}
_PAPER_SAE_EPOCHS = dict.fromkeys(("ujiindoorloc", "tampere", "uji-lib", "uts"), SAE_EPOCHS)


@dataclass(frozen=True)
class Settings:
    """What the experiments do: the chapter's parameters and the profile's sizes.

    Defaults are the ``paper`` profile (Sect. 4.1; UJI-LIB with Tampere's schedule, see the
    module docstring). Per-dataset mappings are keyed by dataset name (``"ujiindoorloc"``,
    ``"tampere"``, ``"uji-lib"``, ``"uts"``; aliases ``"uji"``, ``"lib"``).

    ``third``: the third dataset, ``"uji-lib"`` (default: UTS cannot be had here) or ``"uts"``
    (the paper's exact pairs, for a user who has its files). ``targets``: the target datasets
    (None: all three, in the paper's order UJI, third, Tampere).
    ``models``: per table, the networks that run it; ``transfer_models``: those of Table 1's
    models that also get the ``*`` and ``**`` rows (None: all). ``epochs`` / ``lr``: each
    dataset's schedule for every phase trained on it (stand-alone, transfer phases, distilling),
    batch 128; ``partition_epochs``: Table 4's epochs per target where they differ (the paper
    keeps the dataset's epochs, so a 1 % partition gets 1/100 of the steps);
    ``teacher_epochs``: Expert Training's epochs per source dataset (WGAN-GP rate
    ``teacher_lr``). ``sae_epochs``: per dataset, the SAE pre-training epochs of every CNNLoc
    framer trained from fresh weights on it, Table 4's partitions included
    (:func:`.train.pretrain_framer`, the CNNLoc authors' recipe: MSE, RMSprop 1e-3, batch 66;
    paper profile 40, their ``epoch_sae``; 0 = none; the other networks have no SAE and ignore
    it). ``max_train`` / ``max_test``: at most that many fingerprints per set (a
    seeded random subset; None = all), applied to Table 4's partitions too. ``seeds``: runs of
    Tables 1-3; ``seed_limits``: at most that many of them (the first) for a table or a model
    named as key, or for Table 1's ``*`` / ``**`` rows under ``"transfer"`` (e.g.
    ``{"table2": 1, "baat": 1, "transfer": 1}``; :meth:`seeds_of`); ``partitions``: Table 4's
    partition seeds; ``fractions``: Table 4's shares of each target's training set. ``lambdas``: λ1..λ4 (eq. 12). ``num_threads``: torch threads per
    run; ``device``: None = CUDA when available. ``stop``: converged training (a
    :class:`ipsbook.training.StopRule` or its fields as a mapping; the ``full`` profile's; see
    the module docstring): every :class:`.train.TrainConfig` phase stops on a plateau of its
    validation split of the training set, ``epochs`` / ``partition_epochs`` being the caps;
    None: the fixed epochs. ``cpu_bf16``: the networks whose training forward passes run under
    bfloat16 autocast on CPU (:attr:`.train.TrainConfig.cpu_bf16`; the profiles name BayesCNN,
    the one bound by float32 arithmetic; default none: float32 as the paper). It enters those
    networks' run digests only.
    """

    third: str = "uji-lib"
    targets: tuple[str, ...] | None = None
    models: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {t: MODELS for t in TABLES}
    )
    transfer_models: tuple[str, ...] | None = None
    epochs: Mapping[str, int] = field(default_factory=lambda: dict(_PAPER_EPOCHS))
    partition_epochs: Mapping[str, int] = field(default_factory=dict)
    lr: Mapping[str, float] = field(default_factory=lambda: dict(_PAPER_LR))
    teacher_epochs: Mapping[str, int] = field(default_factory=lambda: dict(_PAPER_EPOCHS))
    teacher_lr: float = 1e-4
    sae_epochs: Mapping[str, int] = field(default_factory=lambda: dict(_PAPER_SAE_EPOCHS))
    max_train: Mapping[str, int | None] = field(default_factory=dict)
    max_test: Mapping[str, int | None] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)
    seed_limits: Mapping[str, int] = field(default_factory=dict)
    partitions: tuple[int, ...] = data.PARTITION_SEEDS
    fractions: Mapping[str, tuple[float, ...]] = field(
        default_factory=lambda: {"ujiindoorloc": (0.01, 0.1), "uji-lib": (0.1,), "tampere": (0.1,),
                                 "uts": (0.1,)}
    )
    lambdas: tuple[float, ...] = DEFAULT_LAMBDAS
    options: DistillOptions = field(default_factory=DistillOptions)
    model_kw: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    knn_k: tuple[int, ...] = K_VALUES
    encoder: str = "framer"
    shared: str = "finetune"
    num_threads: int | None = 1
    device: str | None = None
    checkpoint_every: int = 25
    stop: StopRule | None = None
    cpu_bf16: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        third = _dataset(self.third)
        if third not in ("uji-lib", "uts"):
            raise ValueError(f"third={self.third!r}; allowed: 'uji-lib', 'uts'")
        object.__setattr__(self, "third", third)
        ours = tuple(third if d == "third" else d for d in _PAPER_ORDER)
        targets = ours if self.targets is None else tuple(_dataset(t) for t in self.targets)
        if not targets:
            raise ValueError("targets is empty")
        bad = [t for t in targets if t not in ours]
        if bad:
            raise ValueError(
                f"targets {bad} are not among this setting's datasets {list(ours)} "
                f"(third={third!r})"
            )
        object.__setattr__(self, "targets", tuple(dict.fromkeys(targets)))
        if not isinstance(self.models, Mapping):
            raise TypeError("models must map a table name to a tuple of model names")
        models = {}
        for t, names in self.models.items():
            if t not in TABLES:
                raise ValueError(f"models: unknown table {t!r}; allowed: {', '.join(TABLES)}")
            if isinstance(names, str):
                names = (names,)
            models[t] = tuple(dict.fromkeys(_model(m) for m in names))
        object.__setattr__(self, "models", models)
        if self.transfer_models is not None:
            names = (self.transfer_models,) if isinstance(self.transfer_models, str) \
                else self.transfer_models
            object.__setattr__(self, "transfer_models",
                               tuple(dict.fromkeys(_model(m) for m in names)))
        for name, check in (("epochs", _pos_int), ("partition_epochs", _pos_int),
                            ("lr", _pos_float),
                            ("teacher_epochs", _pos_int), ("sae_epochs", _nonneg_int),
                            ("max_train", _cap),
                            ("max_test", _cap), ("fractions", _fractions)):
            object.__setattr__(self, name, _per_dataset(getattr(self, name), name, check))
        for name in ("epochs", "lr", "teacher_epochs", "sae_epochs"):
            missing = [d for d in ours if d not in getattr(self, name)]
            if missing:
                raise ValueError(f"{name} has no value for {missing}")
        _pos_float("teacher_lr", self.teacher_lr)
        object.__setattr__(self, "seeds", _seeds("seeds", self.seeds))
        if not isinstance(self.seed_limits, Mapping):
            raise TypeError("seed_limits must map a table or model name to a count of seeds")
        limits = {}
        for key, n in dict(self.seed_limits).items():
            name = key.lower() if isinstance(key, str) else key
            if name not in (*TABLES, "transfer", *MODELS):
                raise ValueError(f"seed_limits: unknown key {key!r}; allowed: a table "
                                 f"({', '.join(TABLES)}), a model ({', '.join(MODELS)}) or "
                                 "'transfer' (Table 1's * and ** rows)")
            _pos_int(f"seed_limits[{key!r}]", n)
            limits[name] = int(n)
        object.__setattr__(self, "seed_limits", limits)
        object.__setattr__(self, "partitions", _seeds("partitions", self.partitions))
        lambdas = tuple(self.lambdas) if isinstance(self.lambdas, (tuple, list)) else self.lambdas
        normalise_lambdas(lambdas)  # ValueError: not 4 finite non-negative numbers
        object.__setattr__(self, "lambdas", tuple(float(v) for v in lambdas))
        if not isinstance(self.options, DistillOptions):
            raise TypeError("options must be a distill.DistillOptions")
        kw = {}
        for m, v in dict(self.model_kw).items():
            if not isinstance(v, Mapping):
                raise TypeError(f"model_kw[{m!r}] must be a mapping of keyword arguments")
            kw[_model(m)] = dict(v)
        object.__setattr__(self, "model_kw", kw)
        ks = tuple(self.knn_k)
        for k in ks:
            _pos_int("knn_k", k)
        object.__setattr__(self, "knn_k", tuple(int(k) for k in ks))
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder={self.encoder!r}; allowed: {', '.join(ENCODERS)}")
        if self.shared not in SHARED:
            raise ValueError(f"shared={self.shared!r}; allowed: {', '.join(SHARED)}")
        if self.num_threads is not None:
            _pos_int("num_threads", self.num_threads)
        _pos_int("checkpoint_every", self.checkpoint_every)
        object.__setattr__(self, "stop", StopRule.of(self.stop))
        bf16 = (self.cpu_bf16,) if isinstance(self.cpu_bf16, str) else self.cpu_bf16
        object.__setattr__(self, "cpu_bf16", tuple(dict.fromkeys(_model(m) for m in bf16)))

    # --- construction from a profile ---------------------------------------------------------

    @classmethod
    def from_profile(cls, profile: str | Mapping[str, Any] = "quick", **overrides: Any) -> Settings:
        """Settings from ``profiles.resolve("mst", profile)`` (or an already resolved
        :class:`ipsbook.profiles.Config`), with ``overrides`` (Settings fields) on top. Profile
        keys that are not Settings fields (``workers``) are left to the caller. With
        ``third="uts"`` (and no ``targets``) the profile's UJI-LIB target becomes UTS: the
        paper's exact pairs."""
        if isinstance(profile, str):
            from ...profiles import resolve

            profile = resolve("mst", profile)
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in dict(profile).items() if k in names}
        if "options" in values and isinstance(values["options"], Mapping):
            values["options"] = DistillOptions(**values["options"])
        unknown = [k for k in overrides if k not in names]
        if unknown:
            raise ValueError(f"unknown settings {unknown}; allowed: {', '.join(sorted(names))}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        if overrides.get("third") is not None and overrides.get("targets") is None:
            third = _dataset(overrides["third"])  # the profile's third target follows
            values["targets"] = tuple(third if _dataset(t) in ("uji-lib", "uts") else t
                                      for t in values.get("targets") or ())
        return cls(**values)

    # --- derived --------------------------------------------------------------------------------

    @property
    def datasets(self) -> tuple[str, ...]:
        """The three datasets, in the paper's column order: UJI, third, Tampere."""
        return tuple(self.third if d == "third" else d for d in _PAPER_ORDER)

    def sources(self, target: str) -> tuple[str, str]:
        return sources_of(target, self.third)

    def train_config(self, dataset: str, partition: int = -1, model: str = "") -> TrainConfig:
        """Batch 128, the dataset's epochs (Table 4's ``partition_epochs`` for a partition,
        when given) and learning rate; the last epoch's weights are kept, or, with ``stop``,
        the epochs are the cap and the best validation epoch's weights are kept; bf16 autocast
        on CPU when ``model`` is one of ``cpu_bf16``."""
        d = _dataset(dataset)
        epochs = self.partition_epochs.get(d, self.epochs[d]) if partition >= 0 else self.epochs[d]
        return TrainConfig(epochs=epochs, lr=self.lr[d], num_threads=self.num_threads,
                           device=self.device, restore_best=False, stop=self.stop,
                           cpu_bf16=self.bf16(model))

    def bf16(self, model: str) -> bool:
        """Whether ``model`` trains under bf16 autocast on CPU (``cpu_bf16``)."""
        return isinstance(model, str) and model.lower() in self.cpu_bf16

    def seeds_of(self, table: str, model: str, variant: str = "") -> tuple[int, ...]:
        """The seeds of ``model``'s ``variant`` rows in ``table`` (Tables 1-3): the first n of
        ``seeds``, n the smallest of ``seed_limits[table]``, ``seed_limits[model]`` and, for
        Table 1's transfer baselines ``*`` / ``**``, ``seed_limits["transfer"]`` (absent: all)."""
        keys = [table, _model(model)] + (["transfer"] if variant in ("*", "**") else [])
        n = min(self.seed_limits.get(k, len(self.seeds)) for k in keys)
        return self.seeds[:n]

    def sae(self, model: str, dataset: str) -> int:
        """SAE pre-training epochs of a fresh ``model`` on ``dataset``: ``sae_epochs`` for the
        networks with an SAE framer (:data:`ipsbook.models.fingerprint.SAE_MODELS`), else 0."""
        return self.sae_epochs[_dataset(dataset)] if model in SAE_MODELS else 0

    def teacher_config(self, dataset: str) -> TeacherConfig:
        d = _dataset(dataset)
        return TeacherConfig(epochs=self.teacher_epochs[d], lr=self.teacher_lr,
                             margin=self.options.margin, sim_mode=self.options.sim_mode,
                             num_threads=self.num_threads, device=self.device)

    def joint_config(self, sources: Sequence[str], model: str = "") -> TrainConfig:
        """The joint source phase of (**): epochs = the fingerprint-weighted mean of the sources'
        epochs (it sees as many source fingerprints as (*)'s source phases together), learning
        rate of the source with the most fingerprints (it dominates the pooled batches)."""
        n = {s: _train_size(self, s) for s in sources}
        epochs = max(1, round(sum(self.epochs[s] * n[s] for s in sources) / sum(n.values())))
        big = max(sources, key=lambda s: n[s])
        return TrainConfig(epochs=epochs, lr=self.lr[big], num_threads=self.num_threads,
                           device=self.device, restore_best=False, stop=self.stop,
                           cpu_bf16=self.bf16(model))

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["options"] = asdict(self.options)
        return d


def parse_cpu_bf16(text: str) -> tuple[str, ...] | None:
    """The chapter's ``cpu_bf16`` parameter: ``"profile"`` -> None (keep the profile's),
    ``"none"`` or ``""`` -> ``()`` (float32 throughout), else comma-separated model names."""
    if not isinstance(text, str):
        raise TypeError(f"cpu_bf16={text!r} must be a string: 'profile', 'none' or model names")
    key = text.strip().lower()
    if key == "profile":
        return None
    if key in ("", "none"):
        return ()
    return tuple(_model(m.strip()) for m in key.split(",") if m.strip())


# --- runs and table rows -----------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One training-and-evaluation experiment (see the module docstring for the kinds).

    ``flags``: ``(sim, mi, fi)`` for ``distill``; ``teacher_seed``: the experts' seed for
    ``distill``; ``fraction`` / ``partition``: Table 4's share and partition (1.0 / -1: the
    whole training set)."""

    kind: str
    model: str
    target: str
    sources: tuple[str, ...] = ()
    flags: tuple[bool, bool, bool] = (False, False, False)
    seed: int = 0
    teacher_seed: int = 0
    fraction: float = 1.0
    partition: int = -1

    @property
    def name(self) -> str:
        parts = [self.kind, self.model, self.target]
        if self.sources:
            parts.append("+".join(self.sources))
        if self.kind == "distill":
            parts.append(_symbol(self.flags))
        parts.append(f"s{self.seed}")
        if self.partition >= 0:
            parts.append(f"f{self.fraction:g}p{self.partition}")
        return "_".join(parts).replace("°", "o")

    def experts(self) -> list[Run]:
        """The expert runs this run needs (its teachers; an expert needs none)."""
        if self.kind != "distill":
            return []
        return [Run("expert", self.model, s, seed=self.teacher_seed) for s in self.sources]


@dataclass(frozen=True)
class Row:
    """One row of one table: which run gives it and which of the run's error vectors."""

    table: str
    dataset: str
    model: str
    variant: str
    run: Run
    key: str = ""  # kNN: "k=3" ...
    seed: int = 0
    fraction: float = 1.0
    partition: int = -1

    @property
    def sources(self) -> tuple[str, ...]:
        return self.run.sources


def _symbol(flags: tuple[bool, bool, bool]) -> str:
    sim, mi, fi = flags
    for sym, f in ABLATIONS.items():
        if (f["sim"], f["mi"], f["fi"]) == (sim, mi, fi):
            return sym
    raise ValueError(f"no ablation has flags {flags}")


def _flags(symbol: str) -> tuple[bool, bool, bool]:
    f = ABLATIONS[symbol]
    return (f["sim"], f["mi"], f["fi"])


def plan(settings: Settings, tables: Iterable[str] = TABLES, *, knn: bool = True) -> list[Row]:
    """Every row of ``tables`` under ``settings``, each with the :class:`Run` that produces it.
    ``knn``: add the kNN rows (one per k) for every target (and Table 4 partition)."""
    tables = _check_tables(tables)
    s = settings
    rows: list[Row] = []
    for table in tables:
        models = s.models.get(table, ())
        for target in s.targets:
            src = s.sources(target)
            if table == "table4":
                cells = [(f, p, p) for f in s.fractions.get(target, ()) for p in s.partitions]
            else:
                cells = [(1.0, -1, seed) for seed in s.seeds]
            for fraction, partition, seed in cells:
                common = {"fraction": fraction, "partition": partition, "seed": seed}
                tseed = s.seeds[0] if table == "table4" else seed
                for m in models:
                    if partition < 0 and seed not in s.seeds_of(table, m):
                        continue
                    full = _flags("+++")
                    if m == "baat":
                        full = (True, True, False)

                    cell = {"model": m, "target": target, "seed": seed, "teacher_seed": tseed,
                            "fraction": fraction, "partition": partition}
                    for variant in VARIANTS[table]:
                        if (table == "table1" and variant in ("*", "**")
                                and ((s.transfer_models is not None
                                      and m not in s.transfer_models)
                                     or seed not in s.seeds_of(table, m, variant))):
                            continue
                        if variant == "stand-alone":
                            run = (Run("expert", m, target, seed=seed) if partition < 0 else
                                   Run("standalone", m, target, seed=seed, fraction=fraction,
                                       partition=partition))
                        elif table == "table1" and variant == "*":
                            run = Run("sequential", m, target, src, seed=seed)
                        elif table == "table1" and variant == "**":
                            run = Run("collective", m, target, src, seed=seed)
                        elif table == "table2":
                            run = Run("distill", sources=src, flags=_flags(variant), **cell)
                        elif variant == "†":
                            run = Run("distill", sources=src[:1], flags=full, **cell)
                        elif variant == "‡":
                            run = Run("distill", sources=src[1:], flags=full, **cell)
                        else:  # the fully enhanced row
                            run = Run("distill", sources=src, flags=full, **cell)
                        label = full_variant(m) if (variant == "+++" and table != "table2") \
                            else variant
                        rows.append(Row(table, target, m, label, run, **common))
                if knn and any(partition >= 0 or seed in s.seeds_of(table, m) for m in models):
                    run = Run("knn", "knn", target, seed=0, fraction=fraction,
                              partition=partition)
                    rows += [Row(table, target, "knn", f"k={k}", run, f"k={k}", **common)
                             for k in s.knn_k]
    return rows


def _check_tables(tables: Iterable[str]) -> list[str]:
    if isinstance(tables, str):
        tables = [tables]
    tables = list(tables)
    bad = [t for t in tables if t not in TABLES]
    if bad:
        raise ValueError(f"unknown tables {bad}; allowed: {', '.join(TABLES)}")
    if not tables:
        raise ValueError("tables is empty")
    return tables


def _runs(rows: Sequence[Row]) -> list[Run]:
    """The distinct runs of ``rows`` plus the experts they need, experts first."""
    runs = list(dict.fromkeys(r.run for r in rows))
    experts = [e for r in runs for e in r.experts()]
    ordered = list(dict.fromkeys([r for r in runs if r.kind == "expert"] + experts))
    return ordered + [r for r in runs if r.kind != "expert"]


# --- data --------------------------------------------------------------------------------------


def _capped(fs: data.FingerprintSet, cap: int | None) -> data.FingerprintSet:
    if cap is None or len(fs) <= cap:
        return fs
    rows = np.random.default_rng(0).choice(len(fs), size=cap, replace=False)
    return fs.subset(np.sort(rows))


def _train_size(s: Settings, dataset: str, fraction: float = 1.0) -> int:
    n = FULL_SIZES[dataset]
    if fraction < 1.0:
        n = max(1, math.floor(fraction * n + 1e-9))
    cap = s.max_train.get(dataset)
    return n if cap is None else min(n, cap)


def _train_set(s: Settings, dataset: str, fraction: float = 1.0,
               partition: int = -1) -> data.FingerprintSet:
    fs = data.load(dataset, "train")
    if partition >= 0:
        fs = data.subsample(fs, fraction, seed=partition)
    return _capped(fs, s.max_train.get(dataset))


def _test_set(s: Settings, dataset: str) -> data.FingerprintSet:
    return _capped(data.load(dataset, "test"), s.max_test.get(dataset))


# --- digests ----------------------------------------------------------------------------------


def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _dataset_def(s: Settings, d: str, partition: int = -1, model: str = "") -> dict[str, Any]:
    """What a run trained on ``d`` depends on of the dataset's settings. ``sae_epochs`` enters
    only for a network that is SAE-pre-trained, and only when positive: the digests of the
    other networks' runs, and those of CNNLoc runs without pre-training, stay as they were."""
    out = {"dataset": d, "epochs": s.train_config(d, partition).epochs, "lr": s.lr[d],
           "max_train": s.max_train.get(d), "max_test": s.max_test.get(d)}
    if s.sae(model, d) > 0:
        out["sae_epochs"] = s.sae(model, d)
    return out


def _definition(run: Run, s: Settings) -> dict[str, Any]:
    """Everything a run's numbers depend on (its artefacts' digest). The stop rule enters only
    when set (the ``full`` profile) and only for networks (kNN trains nothing): the digests of
    fixed-epoch artefacts stay as they were. A distilling run depends on it twice, through its
    own training and through its teachers' experts."""
    d: dict[str, Any] = {"version": CACHE_VERSION, **asdict(run),
                         "target": _dataset_def(s, run.target, run.partition, run.model)}
    if run.kind != "knn":
        d["model_kw"] = s.model_kw.get(run.model, {})
        if s.stop is not None:
            d["stop"] = s.stop.as_dict()
        if s.bf16(run.model):
            d["cpu_bf16"] = True
    if run.model == "cnnloc":  # its input scaling's exponent (changed from e to 2.8)
        d["cnnloc_power"] = CNNLOC_POWER
    if run.kind == "expert":
        # every setting the teacher's weights depend on (J_Sim's form and margin included)
        d["teacher"] = s.teacher_config(run.target).weights_key()
    elif run.kind == "distill":
        d["teachers"] = [_digest(_definition(e, s)) for e in run.experts()]
        d["lambdas"] = list(s.lambdas)
        d["options"] = asdict(s.options)
    elif run.kind in ("sequential", "collective"):
        d["sources_def"] = [_dataset_def(s, x, model=run.model) for x in run.sources]
        d["encoder"], d["shared"] = s.encoder, s.shared
    elif run.kind == "knn":
        d["knn"] = {"k": list(s.knn_k), "missing": MISSING_DBM}
    return d


# --- storage ----------------------------------------------------------------------------------

#: The modules whose code decides a stored artefact's numbers (networks, losses, training loops,
#: data preparation, early stopping). Their source enters the store's folder name, so an edit to
#: any of them starts a fresh store instead of reusing experts trained by other code (a reference
#: run resumed in a later session must not mix the two). This module's own orchestration is
#: covered by :data:`CACHE_VERSION`, so that a change of wording here keeps hours of training.
CODE_MODULES: tuple[str, ...] = (
    "ipsbook.models.fingerprint", "ipsbook.methods.mst.data", "ipsbook.methods.mst.losses",
    "ipsbook.methods.mst.distill", "ipsbook.methods.mst.teachers", "ipsbook.methods.mst.train",
    "ipsbook.methods.mst.transfer", "ipsbook.methods.mst.knn", "ipsbook.training",
    "ipsbook.torchutil",
)


@functools.cache
def code_digest() -> str:
    """sha1 (16 hex) of the source of :data:`CODE_MODULES`."""
    import importlib
    import inspect

    h = hashlib.sha1()
    for name in CODE_MODULES:
        h.update(name.encode() + b"\0" + inspect.getsource(importlib.import_module(name)).encode())
    return h.hexdigest()[:16]



class _Store:
    """Experts and run results: in memory, and under ``root`` when given (atomic writes)."""

    def __init__(self, root: Path | None, settings: Settings) -> None:
        self.root, self.s = root, settings
        self.experts: dict[Run, tuple[torch.nn.Module, Teacher]] = {}
        self.results: dict[Run, dict[str, Any]] = {}

    def folder(self, run: Run) -> Path | None:
        if self.root is None:
            return None
        sub = "experts" if run.kind == "expert" else "runs"
        name = f"{run.name}-{_digest(_definition(run, self.s))}"
        return self.root / f"code-{code_digest()}" / sub / name

    def checkpoint(self, run: Run, what: str) -> Checkpoint | None:
        f = self.folder(run)
        return None if f is None else Checkpoint(f / f"{what}.ckpt", self.s.checkpoint_every)

    def checkpoint_dir(self, run: Run) -> Path | None:
        f = self.folder(run)
        return None if f is None else f / "transfer"

    # results ----------------------------------------------------------------------------------
    def load_result(self, run: Run) -> dict[str, Any] | None:
        if run in self.results:
            return self.results[run]
        f = self.folder(run)
        if f is None or not (f / "result.json").is_file():
            return None
        meta = json.loads((f / "result.json").read_text())
        if meta.get("format", 1) != RESULT_FORMAT:
            return None  # made again from the finished checkpoints (RESULT_FORMAT)
        with np.load(f / "errors.npz") as z:
            errors = {k: z[k] for k in meta["keys"]}
        out = {"errors": errors, "training": meta["training"], "n_train": meta["n_train"],
               "wall_s": meta.get("wall_s", float("nan")), "curves": meta.get("curves", []),
               "validation": meta.get("validation", [])}
        self.results[run] = out
        return out

    def stored_wall_s(self, run: Run) -> float | None:
        """The training wall time a stored result of any format recorded (None: none), so
        that a result made again from its checkpoints (:data:`RESULT_FORMAT`) keeps it."""
        f = self.folder(run)
        if f is None or not (f / "result.json").is_file():
            return None
        wall = json.loads((f / "result.json").read_text()).get("wall_s")
        return None if wall is None or not math.isfinite(float(wall)) else float(wall)

    def save_result(self, run: Run, result: dict[str, Any]) -> None:
        self.results[run] = result
        f = self.folder(run)
        if f is None:
            return
        f.mkdir(parents=True, exist_ok=True)
        keys = list(result["errors"])
        _atomic(f / "errors.npz", lambda p: np.savez(p, **result["errors"]), suffix=".npz")
        meta = {"format": RESULT_FORMAT, "keys": keys, "training": result["training"],
                "n_train": result["n_train"], "wall_s": result.get("wall_s", float("nan")),
                "curves": result.get("curves", []), "validation": result.get("validation", []),
                "run": asdict(run), "definition": _definition(run, self.s)}
        _atomic(f / "result.json",
                lambda p: Path(p).write_text(json.dumps(meta, default=_json_default, indent=1)))

    # experts ----------------------------------------------------------------------------------
    def load_expert(self, run: Run) -> tuple[torch.nn.Module, Teacher] | None:
        if run in self.experts:
            return self.experts[run]
        f = self.folder(run)
        if f is None or not (f / "model.pt").is_file() or not (f / "teacher.pt").is_file():
            return None
        state = torch.load(f / "model.pt", map_location="cpu", weights_only=True)
        model = build(run.model, state["n_anchors"], **self.s.model_kw.get(run.model, {}))
        model.load_state_dict(state["model"])
        model.eval()
        teacher = Teacher.load(f / "teacher.pt")
        self.experts[run] = (model, teacher)
        return model, teacher

    def save_expert(self, run: Run, model: torch.nn.Module, teacher: Teacher) -> None:
        self.experts[run] = (model, teacher)
        f = self.folder(run)
        if f is None:
            return
        f.mkdir(parents=True, exist_ok=True)
        state = {"n_anchors": int(model.n_anchors),
                 "model": {k: v.detach().cpu() for k, v in model.state_dict().items()}}
        _atomic(f / "model.pt", lambda p: torch.save(state, p))
        teacher.save(f / "teacher.pt")


def _atomic(path: Path, write: Any, suffix: str = "") -> None:
    tmp = path.with_name(f"{path.stem}.tmp{os.getpid()}{suffix or path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


# --- executing one run ------------------------------------------------------------------------


def _build(name: str, n_anchors: int, kw: Mapping[str, Any], seed: int) -> torch.nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build(name, n_anchors, **kw)


def _validation(run: Run, phase: str, hist: Any) -> list[dict[str, Any]]:
    """A trained phase's validation curve (mean error in m after each epoch) with its best
    epoch (1-based) and how it ended; empty for a phase without validation data."""
    if not getattr(hist, "val_mae_m", None):
        return []
    stop = hist.stopping or {}
    best = hist.best_epoch
    return [{"run": run.name, "model": MODEL_LABELS.get(run.model, run.model),
             "dataset": data.label(run.target), "phase": phase, "seed": run.seed,
             "fraction": run.fraction, "partition": run.partition,
             "val_mae_m": [float(v) for v in hist.val_mae_m],
             "best_epoch": None if best is None else int(best) + 1,
             "epochs_cap": stop.get("epochs_cap"), "stopped": stop.get("stopped"),
             "still_improving": stop.get("still_improving")}]


def _phase_row(run: Run, phase: str, datasets: Sequence[str], summ: Mapping[str, Any]) -> dict:
    keep = ("epochs", "epoch_s", "samples_per_s", "n_train", "trainable_parameters", "device",
            "completed")
    return {
        "run": run.name, "kind": run.kind, "model": MODEL_LABELS.get(run.model, run.model),
        "dataset": data.label(run.target), "phase": phase,
        "trained_on": " + ".join(datasets), "seed": run.seed, "fraction": run.fraction,
        "partition": run.partition, **{k: summ.get(k) for k in keep},
        "final_J_MAE": summ.get("final_J_MAE"), "final_MSE": summ.get("final_MSE"),
        # converged training only (absent otherwise, so fixed-epoch frames keep their columns)
        **{k: summ[k] for k in ("best_epoch", *STOP_SUMMARY_KEYS) if "stopped" in summ},
    }


def _curve(run: Run, phase: str, hist: Any, n_teachers: int) -> dict[str, Any]:
    """A distilling phase's per-epoch record: its history's metrics (loss terms, gradient norms
    and shares, see :func:`.distill.distill`), the validation error when there is one, and
    J_MI's no-information value for its number of teachers."""
    return {"run": run.name, "model": MODEL_LABELS.get(run.model, run.model),
            "dataset": data.label(run.target), "phase": phase, "variant": _symbol(run.flags),
            "sources": " & ".join(data.label(x) for x in run.sources), "seed": run.seed,
            "fraction": run.fraction, "partition": run.partition,
            "metrics": {k: list(v) for k, v in hist.metrics.items()},
            "val_mae_m": list(hist.val_mae_m), "best_epoch": hist.best_epoch,
            "J_MI_no_information": mi_no_information(n_teachers)}


def _expert(run: Run, store: _Store) -> tuple[torch.nn.Module, Teacher]:
    got = store.load_expert(run)
    if got is None:
        _execute(run, store)
        got = store.load_expert(run)
    assert got is not None
    return got


def _execute(run: Run, store: _Store) -> dict[str, Any]:
    """Train and evaluate ``run`` (or load its stored result), inside its own torch session."""
    done = store.load_result(run)
    if done is not None and (run.kind != "expert" or store.load_expert(run) is not None):
        return done
    s = store.s
    dev = resolve_device(s.device)
    before = store.stored_wall_s(run)  # a result of an older format: its training's wall time
    t0 = time.perf_counter()
    with torch_session(run.seed, dev, s.num_threads):
        result = _train_and_evaluate(run, store, dev)
    result["wall_s"] = time.perf_counter() - t0 if before is None else before
    store.save_result(run, result)
    return result


def _train_and_evaluate(run: Run, store: _Store, dev: torch.device) -> dict[str, Any]:
    s = store.s
    target = run.target
    test = _test_set(s, target)
    train = _train_set(s, target, run.fraction, run.partition)
    label = data.label(target)
    rows: list[dict[str, Any]] = []
    curves: list[dict[str, Any]] = []  # per-epoch records of the distilling phase
    val: list[dict[str, Any]] = []  # every trained phase's validation curve
    if run.kind == "knn":
        with threadpool_limits(limits=1):
            errors = {f"k={k}": knn_errors(train, test, k) for k in s.knn_k}
        return {"errors": errors, "training": rows, "n_train": len(train), "validation": val}
    kw = s.model_kw.get(run.model, {})
    cfg = s.train_config(target, run.partition, run.model)

    def pretrain(model: torch.nn.Module) -> None:
        """SAE pre-training of a fresh CNNLoc on the run's training set (a phase row); with a
        stop rule, on the part the network will train on (not its validation split)."""
        if s.sae(run.model, target) > 0:
            sae_set = train if s.stop is None else stop_split(train, s.stop, run.seed)[0]
            h = pretrain_framer(model, sae_set, epochs=s.sae(run.model, target), seed=run.seed,
                                num_threads=s.num_threads, device=s.device,
                                checkpoint=store.checkpoint(run, "sae"))
            rows.append(_phase_row(run, "sae pre-training", [label], h.summary()))

    if run.kind in ("expert", "standalone"):
        model = _build(run.model, train.n_anchors, kw, run.seed)
        pretrain(model)
        h = train_specialised(model, train, config=cfg, seed=run.seed,
                              checkpoint=store.checkpoint(run, "standalone"))
        rows.append(_phase_row(run, "stand-alone", [label], h.summary()))
        val += _validation(run, "stand-alone", h)
        if run.kind == "expert":
            teacher = train_teacher(model, train, config=s.teacher_config(target),
                                    seed=run.seed, checkpoint=store.checkpoint(run, "teacher"))
            rows.append(_phase_row(run, "teacher", [label], teacher.history.summary()))
            store.save_expert(run, model, teacher)
    elif run.kind == "distill":
        teachers = [_expert(e, store)[1] for e in run.experts()]
        model = _build(run.model, train.n_anchors, kw, run.seed)
        pretrain(model)
        h = distill(model, train, teachers, lambdas=s.lambdas, config=cfg, seed=run.seed,
                    ablation=_symbol(run.flags), options=s.options,
                    checkpoint=store.checkpoint(run, "distill"))
        srcs = [data.label(x) for x in run.sources]
        phase = f"distill {_symbol(run.flags)} <- {' & '.join(srcs)}"
        rows.append(_phase_row(run, phase, [label], h.summary()))
        val += _validation(run, phase, h)
        curves.append(_curve(run, phase, h, len(teachers)))
    elif run.kind in ("sequential", "collective"):
        sources = [_train_set(s, x) for x in run.sources]
        common = {"config": cfg, "seed": run.seed, "encoder": s.encoder, "shared": s.shared,
                  "model_kw": kw, "checkpoint_dir": store.checkpoint_dir(run),
                  "checkpoint_every": s.checkpoint_every,
                  "sae_epochs": [s.sae(run.model, x) for x in (*run.sources, target)]}
        if run.kind == "sequential":
            model, th = sequential_transfer(
                run.model, sources, train,
                source_configs=[s.train_config(x, model=run.model) for x in run.sources], **common)
        else:
            model, th = collective_transfer(
                run.model, sources, train, source_config=s.joint_config(run.sources, run.model), **common)
        for p in th.phases:
            rows.append(_phase_row(run, f"{run.kind} {p.name}", p.datasets, p.history.summary()))
            val += _validation(run, f"{run.kind} {p.name}", p.history)
    else:
        raise ValueError(f"unknown run kind {run.kind!r}; allowed: {', '.join(_KINDS)}")
    errors = {"": evaluate(model, test)}
    return {"errors": errors, "training": rows, "n_train": len(train), "curves": curves,
            "validation": val}


def _worker(run: Run, settings: Settings, root: str) -> dict[str, Any]:
    return _execute(run, _Store(Path(root), settings))


_PROCESS_TURN = threading.Lock()
"""One run at a time per process on a Dask worker: :func:`ipsbook.torchutil.torch_session`
sets torch's random state, deterministic mode and thread count, which are the process's."""


def _cluster_worker(
    run: Run, settings: Settings, experts: Mapping[Run, tuple[torch.nn.Module, Teacher]]
) -> tuple[dict[str, Any], tuple[torch.nn.Module, Teacher] | None]:
    """The Dask task: ``run`` with the experts it needs given in memory (no shared folder);
    returns its result and, for an expert run, the expert."""
    with _PROCESS_TURN:
        store = _Store(None, settings)
        store.experts.update(experts)
        result = _execute(run, store)
        return result, store.experts.get(run) if run.kind == "expert" else None


# --- results -----------------------------------------------------------------------------------


def summarise(errors: pd.DataFrame, by: Sequence[str] | None = None) -> pd.DataFrame:
    """Paper C's metrics per group of a tidy error frame: MAE (mean error), p75, p95 (m),
    P(error < 10 m) (Fig. 2) and n; ``by`` defaults to every column but ``sample``/``error_m``.
    Adds ``gain_pct``: the MAE reduction against the same model's stand-alone row of the same
    table, target, seed and partition, in per cent (the paper's "(x % ↑)"; negative = worse)."""
    if by is None:
        by = [c for c in errors.columns if c not in ("sample", "error_m")]
    by = list(by)
    recs = []
    for key, g in errors.groupby(by, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        st = summary(g["error_m"].to_numpy())
        recs.append({**dict(zip(by, key, strict=True)), "MAE": st["MAE"], "p75": st["p75"],
                     "p95": st["p95"], "p_below_10m": st["p_below_10m"], "n": st["n"]})
    out = pd.DataFrame(recs)
    pair = [c for c in ("table", "dataset", "model", "seed", "fraction", "partition") if c in by]
    if "variant" in by and out.size:
        base = out[out["variant"] == "stand-alone"].set_index(pair)["MAE"]
        ref = out.set_index(pair).index.map(lambda k: base.get(k, np.nan))
        out["gain_pct"] = 100.0 * (np.asarray(ref, float) - out["MAE"]) / np.asarray(ref, float)
    return out


@dataclass
class Results:
    """What :func:`run_all` returns.

    ``errors``: one row per test fingerprint of every table row: ``table``, ``dataset`` (the
    target's label), ``sources`` (labels joined by " & "; "" for stand-alone and kNN), ``model``
    ("DNN", ..., "kNN"), ``variant`` ("stand-alone", "*", "**", "+++", "++", "+", "°", "†", "‡",
    "k=3", ...), ``method`` (model + variant as the paper writes it), ``seed``, ``fraction``,
    ``partition`` (-1: the whole training set), ``n_train``, ``sample`` (row of the test set),
    ``error_m``. ``training``: one row per training phase (epochs, seconds per epoch, samples/s,
    ...). ``runs``: one row per run: its wall time when it was trained (``wall_s``, NaN for none
    recorded) next to :func:`estimate`'s ``estimated_s``. ``curves``: the distilling phases'
    per-epoch records, tidy (one row per phase, epoch and ``metric``: J_overall ``loss``, each
    term's value ``J_*``, its weighted gradient norm ``grad_J_*`` and share ``share_J_*``,
    ``val_mae_m``), with ``J_MI_no_information`` beside each phase. ``validation``: every
    trained phase's validation curve (converged training only; empty under fixed epochs), tidy:
    one row per phase and ``epoch`` (1-based) with ``val_mae_m`` (m), the phase's
    ``best_epoch`` (1-based), ``epochs_cap``, ``stopped`` ("plateau" / "cap") and
    ``still_improving`` (at the cap). ``settings``: what produced them.
    """

    errors: pd.DataFrame
    training: pd.DataFrame
    settings: Settings
    rows: list[Row] = field(default_factory=list, repr=False)
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)
    curves: pd.DataFrame = field(default_factory=pd.DataFrame)
    validation: pd.DataFrame = field(default_factory=pd.DataFrame)

    def table(self, name: str) -> pd.DataFrame:
        """The per-sample errors of one table."""
        return self.errors[self.errors["table"] == name].reset_index(drop=True)

    def summary(self, table: str | None = None) -> pd.DataFrame:
        """:func:`summarise` per table row (and seed / partition)."""
        e = self.errors if table is None else self.table(table)
        return summarise(e, ["table", "dataset", "sources", "model", "variant", "method", "seed",
                             "fraction", "partition", "n_train"])

    def partition_summary(self) -> pd.DataFrame:
        """Table 4: mean ± std over the partitions of each row's MAE, p75, p95 and
        P(error < 10 m); ``n_partitions`` and the training-set size ``n_train``."""
        per = self.summary("table4")
        return per if per.empty else partition_stats(per)


def partition_stats(per: pd.DataFrame) -> pd.DataFrame:
    """Mean and std (ddof 1) over the partitions of each Table 4 row's MAE, p75, p95 and
    P(error < 10 m), from :func:`summarise` rows that have a ``partition`` column;
    ``n_partitions`` and the training-set size ``n_train`` beside them."""
    keys = ["dataset", "fraction", "model", "variant", "method"]
    g = per.groupby(keys, sort=False)
    out = g[["MAE", "p75", "p95", "p_below_10m"]].agg(["mean", "std"])
    out.columns = [f"{a}_{b}" for a, b in out.columns]
    out["n_partitions"] = g.size()
    out["n_train"] = g["n_train"].first()
    return out.reset_index()


def _frames(rows: Sequence[Row], results: Mapping[Run, dict[str, Any]],
            settings: Settings) -> tuple[pd.DataFrame, ...]:
    parts = []
    for r in rows:
        res = results[r.run]
        e = np.asarray(res["errors"][r.key], np.float64)
        model = "kNN" if r.model == "knn" else MODEL_LABELS[r.model]
        method = f"kNN ({r.variant})" if r.model == "knn" else (
            model if r.variant == "stand-alone" else f"{model}{r.variant}")
        sources = "" if r.run.kind in ("expert", "standalone", "knn") else " & ".join(
            data.label(x) for x in r.run.sources)
        parts.append(pd.DataFrame({
            "table": r.table, "dataset": data.label(r.dataset), "sources": sources,
            "model": model, "variant": r.variant, "method": method, "seed": r.seed,
            "fraction": r.fraction, "partition": r.partition, "n_train": int(res["n_train"]),
            "sample": np.arange(len(e)), "error_m": e,
        }))
    errors = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    seen = list(dict.fromkeys(r.run for r in rows))
    for r in list(seen):
        seen += [e for e in r.experts() if e not in seen]
    training = pd.DataFrame([row for r in seen for row in results[r]["training"]])
    long = [_long(c) for r in seen for c in results[r].get("curves", [])]
    curves = pd.concat(long, ignore_index=True) if long else pd.DataFrame()
    vals = [pd.DataFrame({**{k: v for k, v in c.items() if k != "val_mae_m"},
                          "epoch": np.arange(1, len(c["val_mae_m"]) + 1),
                          "val_mae_m": np.asarray(c["val_mae_m"], np.float64)})
            for r in seen for c in results[r].get("validation", [])]
    validation = pd.concat(vals, ignore_index=True) if vals else pd.DataFrame()
    runs = pd.DataFrame([
        {"run": r.name, "kind": r.kind, "model": r.model, "target": data.label(r.target),
         "wall_s": results[r].get("wall_s", float("nan")),
         "estimated_s": _run_seconds(r, settings)} for r in seen
    ])
    return errors, training, runs, curves, validation


def _long(curve: Mapping[str, Any]) -> pd.DataFrame:
    """One distilling phase's per-epoch record as tidy rows (one per epoch and metric)."""
    meta = {k: v for k, v in curve.items() if k not in ("metrics", "val_mae_m", "best_epoch")}
    series = dict(curve["metrics"])
    if curve.get("val_mae_m"):
        series["val_mae_m"] = curve["val_mae_m"]
    parts = [pd.DataFrame({**meta, "epoch": np.arange(1, len(v) + 1), "metric": k,
                           "value": np.asarray(v, np.float64)}) for k, v in series.items()]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


# --- running -----------------------------------------------------------------------------------


def run_all(
    settings: Settings,
    tables: Iterable[str] = TABLES,
    *,
    artefacts_dir: str | os.PathLike[str] | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    knn: bool = True,
    progress: bool = True,
) -> Results:
    """Train and evaluate everything ``tables`` need under ``settings``; see :class:`Results`.

    ``artefacts_dir``: where experts, results and checkpoints are kept (and found again: a
    second call, or another table's notebook, reuses them; an interrupted run resumes); None
    keeps them for this call only. ``workers`` > 1 runs the runs in that many spawned
    processes (experts first, each distilling run as soon as its teachers exist); the numbers
    do not depend on ``workers``. ``scheduler``: the address of an existing Dask scheduler;
    the runs go to its cluster instead (``workers`` is then not used; module notes), with the
    same numbers. ``knn``: add the kNN rows.

    Raises:
        ValueError: unknown table, bad ``workers``; :class:`ipsbook.data.DataFileMissing` for
            ``third="uts"`` without the UTS files.
    """
    if not isinstance(settings, Settings):
        raise TypeError(f"settings must be a Settings; got {type(settings).__name__}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers={workers!r} must be a positive integer")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise ValueError(f"scheduler={scheduler!r} must be a Dask scheduler address such as "
                         "'tcp://host:8786', or None for the local worker pool")
    rows = plan(settings, tables, knn=knn)
    if not rows:
        raise ValueError("nothing to run: no model is listed for these tables")
    for d in {r.run.target for r in rows} | {x for r in rows for x in r.run.sources}:
        data.load(d, "train")  # DataFileMissing (UTS) or a data error before anything trains
    runs = _runs(rows)
    tmp = None
    root = None if artefacts_dir is None else Path(artefacts_dir)
    if root is None and workers > 1:
        tmp = root = Path(tempfile.mkdtemp(prefix="ipsbook-mst-"))
    try:
        store = _Store(root, settings)
        bar = tqdm(total=len(runs), desc="paper C runs", disable=not progress)
        results: dict[Run, dict[str, Any]] = {}
        if scheduler is not None:
            results = _run_on_cluster(runs, settings, store, scheduler, bar)
        elif workers == 1:
            for run in runs:
                results[run] = _execute(run, store)
                bar.update(1)
        else:
            assert root is not None
            results = _run_local_pool(runs, settings, root, store, workers, bar)
        bar.close()
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    errors, training, runs_frame, curves, validation = _frames(rows, results, settings)
    return Results(errors=errors, training=training, settings=settings, rows=rows,
                   runs=runs_frame, curves=curves, validation=validation)


def _run_local_pool(runs: list[Run], settings: Settings, root: Path, store: _Store,
                    workers: int, bar: Any) -> dict[Run, dict[str, Any]]:
    """The runs in ``workers`` spawned processes that share ``root``."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        return _run_parallel(
            runs, settings, store, workers, bar,
            submit=lambda run: pool.submit(_worker, run, settings, str(root)),
            receive=lambda run, result: result,
        )


def _run_on_cluster(runs: list[Run], settings: Settings, store: _Store, address: str,
                    bar: Any) -> dict[Run, dict[str, Any]]:
    """The runs on the Dask cluster of the scheduler at ``address`` (module notes)."""
    try:
        from distributed import Client
    except ImportError as exc:
        raise ImportError(f"scheduler={address!r} needs the 'distributed' package (pip install "
                          f"distributed), which did not import: {exc}") from exc
    try:
        client = Client(address, timeout="20s")
    except OSError as exc:
        raise ConnectionError(f"scheduler={address!r}: cannot connect to the Dask scheduler "
                              f"({exc})") from exc
    with client:
        pool = client.get_executor(pure=False)
        slots = max(1, sum(client.nthreads().values()))

        def submit(run: Run) -> Any:
            experts = {e: store.load_expert(e) for e in run.experts()}
            return pool.submit(_cluster_worker, run, settings, experts)

        def receive(run: Run, payload: Any) -> dict[str, Any]:
            result, expert = payload
            if expert is not None:
                store.save_expert(run, *expert)
            store.save_result(run, result)
            return result

        return _run_parallel(runs, settings, store, slots, bar, submit=submit, receive=receive)


def _run_parallel(runs: list[Run], settings: Settings, store: _Store, workers: int, bar: Any,
                  *, submit: Any, receive: Any) -> dict[Run, dict[str, Any]]:
    """At most ``workers`` runs at a time; each free worker takes the dearest ready run
    (:func:`_run_seconds`), experts before everything else since the distilling runs wait for
    them (longest-first keeps the last worker from finishing long after the others).
    ``submit(run)`` starts a run and returns a ``concurrent.futures.Future``;
    ``receive(run, value)`` turns its value into the run's result."""
    results: dict[Run, dict[str, Any]] = {}
    for run in runs:  # what is already stored needs no process
        got = store.load_result(run)
        if got is not None and (run.kind != "expert" or store.load_expert(run) is not None):
            results[run] = got
            bar.update(1)
    todo = sorted((r for r in runs if r not in results),
                  key=lambda r: (r.kind != "expert", -_run_seconds(r, settings)))
    running: dict[Any, Run] = {}
    while todo or running:
        while len(running) < workers:
            ready = next((r for r in todo if all(e in results for e in r.experts())), None)
            if ready is None:
                break
            todo.remove(ready)
            running[submit(ready)] = ready
        if not running:
            missing = sorted({e.name for r in todo for e in r.experts() if e not in results})
            raise RuntimeError(f"runs wait for experts that are not planned: {missing}")
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for fut in done:
            run = running.pop(fut)
            results[run] = receive(run, fut.result())
            bar.update(1)
    return results


# --- cost estimate -----------------------------------------------------------------------------


def estimate(settings: Settings, tables: Iterable[str] = TABLES, *,
             epoch_ms: Mapping[str, Mapping[str, Mapping[str, float]]] = EPOCH_MS) -> pd.DataFrame:
    """Estimated CPU seconds of every run of ``tables`` (one thread, this machine's
    :data:`EPOCH_MS`): each phase's epochs x training fingerprints x ms per fingerprint, plus
    the evaluation on the test set and, for an expert, the teacher's pass over its source set
    (``epoch_ms["eval"]``), and CNNLoc's SAE pre-training (``epoch_ms["sae"]``) of every fresh
    network. Distilling with one teacher counts the mean of the stand-alone and
    two-teacher costs; UTS counts as UJI. The networks of ``settings.cpu_bf16`` are counted
    at their float32 rate: an upper bound (the bench measured bf16 stand-alone epochs only).
    Columns: run, kind, model, target, seconds.
    ``.seconds.sum()`` / ``workers`` is the compute part of the wall time."""
    return pd.DataFrame([
        {"run": r.name, "kind": r.kind, "model": r.model, "target": r.target,
         "seconds": _run_seconds(r, settings, epoch_ms)}
        for r in _runs(plan(settings, tables))
    ])


def _run_seconds(run: Run, s: Settings,
                 epoch_ms: Mapping[str, Mapping[str, Mapping[str, float]]] = EPOCH_MS) -> float:
    def ms(phase: str, model: str, d: str) -> float:
        return float(epoch_ms[phase][model]["ujiindoorloc" if d == "uts" else d])

    t, m = run.target, run.model
    n = _train_size(s, t, run.fraction)
    n_test = min(_TEST_SIZES[t], s.max_test.get(t) or _TEST_SIZES[t])
    if run.kind == "knn":
        return _KNN_S_PER_PAIR * n * n_test * len(s.knn_k)
    epochs = s.train_config(t, run.partition).epochs
    sec = n_test * ms("eval", m, t) / 1e3
    if s.sae(m, t) > 0 and (run.kind in ("expert", "standalone", "distill")
                            or s.encoder == "framer"):
        sec += s.sae(m, t) * n * ms("sae", m, t) / 1e3  # the fresh network's SAE pre-training
    if run.kind in ("expert", "standalone"):
        sec += epochs * n * ms("standalone", m, t) / 1e3
        if run.kind == "expert":
            sec += s.teacher_epochs[t] * n * ms("teacher", m, t) / 1e3
            sec += n * ms("eval", m, t) / 1e3
    elif run.kind == "distill":
        d2 = ms("distill", m, t)
        per = d2 if len(run.sources) > 1 else (d2 + ms("standalone", m, t)) / 2
        sec += epochs * n * per / 1e3
    else:  # sequential, collective
        sec += epochs * n * ms("standalone", m, t) / 1e3
        joint = s.joint_config(run.sources).epochs
        for i, x in enumerate(run.sources):
            ex = s.epochs[x] if run.kind == "sequential" else joint
            sec += ex * _train_size(s, x) * ms("standalone", m, x) / 1e3
            if s.sae(m, x) > 0 and (i == 0 or s.encoder == "framer"):
                sec += s.sae(m, x) * _train_size(s, x) * ms("sae", m, x) / 1e3
    return sec
