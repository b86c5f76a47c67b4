"""Profiles: the one place that maps a run profile to the sizes of every chapter.

A profile is ``smoke`` (tests and CI: every code path, seconds), ``quick`` (the default book:
real data, fewer Monte-Carlo runs or epochs), ``full`` (the converged reference runs that
``ipsbook freeze`` keeps in ``results/full``: every training phase stops on a validation plateau,
:mod:`ipsbook.training`, capped at the paper's epochs; Monte-Carlo sizes large enough for stable
verdicts; at most about two hours a chapter on 2 cores) or ``paper`` (the papers' own settings). A
notebook
calls :func:`resolve` once; its result is printed at the top of the chapter and saved with every
result, so a quick-profile number is never mistaken for a paper-scale one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PROFILES: tuple[str, ...] = ("smoke", "quick", "full", "paper")

# The full profile's early-stopping rule (ipsbook.training.StopRule fields): patience in epochs
# without a relative improvement of min_delta on the validation split carved from the training
# data (val_fraction), the learning rate halved after lr_patience such epochs.
_STOP = {"patience": 8, "min_delta": 1e-3, "lr_factor": 0.5, "lr_patience": 3,
         "min_lr": 1e-6, "val_fraction": 0.1}
_STOP_SHORT = {**_STOP, "patience": 6, "lr_patience": 2}  # for caps of about 30 epochs

# MTLoc: both source → target directions, and fine-tuning rates in eighths of the training traces
_BOTH_WAYS = (("site1", "site2"), ("site2", "site1"))
_EIGHTHS = tuple(k / 8 for k in range(9))

# Sizes per chapter and profile. Each chapter lists the same keys under every profile.
_SIZES: dict[str, dict[str, dict[str, Any]]] = {
    # Paper D (binary fingerprinting). n_mc: Monte-Carlo realisations of shadowing + noise;
    # test_step_m: spacing of the test grid (the paper: 0.25 m); sigma_ws / deltas: sweeps.
    "bfp": {
        "smoke": {
            "n_mc": 2,
            "n_noise": 2,
            "test_step_m": 0.5,
            "sigma_ws_db": (0.0, 2.0, 4.0),
            "deltas_db": (0.0, 2.0, 4.0, 8.0),
            "area_sides_m": (10.0, 20.0),
            "bench_cells": 2_000,
            "bench_queries": 200,
        },
        "quick": {
            "n_mc": 50,
            "n_noise": 50,
            "test_step_m": 0.25,
            "sigma_ws_db": (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0),
            "deltas_db": tuple(float(d) for d in range(17)),
            "area_sides_m": (10.0, 15.0, 20.0, 30.0, 40.0),
            "bench_cells": 50_000,
            "bench_queries": 5_000,
        },
        # full: the paper's sweeps, 150 x 100 realisations per point (3x / 2x quick)
        "full": {
            "n_mc": 150,
            "n_noise": 100,
            "test_step_m": 0.25,
            "sigma_ws_db": (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0),
            "deltas_db": tuple(float(d) for d in range(21)),
            "area_sides_m": (10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0),
            "bench_cells": 100_000,
            "bench_queries": 10_000,
        },
        "paper": {
            "n_mc": 500,
            "n_noise": 200,
            "test_step_m": 0.25,
            "sigma_ws_db": (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0),
            "deltas_db": tuple(float(d) for d in range(21)),
            "area_sides_m": (10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0),
            "bench_cells": 100_000,
            "bench_queries": 10_000,
        },
    },
    # Paper B (FTM ranging, EDM resolution). n_plans: random floor plans per sweep point;
    # the four sweeps (noise σ, walls, APs, missing share) and the real-data network size.
    "ftm": {
        "smoke": {
            "n_plans": 2,
            "sigma_los": (0.5, 2.0),
            "n_walls": (0, 12),
            "n_aps": (8, 15),
            "p_missing": (0.0, 0.3),
            "real_max_points": 15,
        },
        "quick": {
            "n_plans": 10,
            "sigma_los": (0.25, 0.5, 1.0, 2.0, 3.0),
            "n_walls": (0, 5, 10, 20, 30),
            "n_aps": (5, 10, 20, 50, 100),
            "p_missing": (0.0, 0.1, 0.2, 0.3, 0.4),
            "real_max_points": 40,
        },
        # full: the paper's sweeps and 50 plans per point (about 15 min on 2 cores); the real
        # networks subsampled to 100 points each (rtt-yu's car park and library hold 4,204 and
        # 7,427 phone positions: every method on all of them would take hours)
        "full": {
            "n_plans": 50,
            "sigma_los": (0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0),
            "n_walls": (0, 5, 10, 15, 20, 30, 40),
            "n_aps": (5, 10, 20, 30, 50, 75, 100),
            "p_missing": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
            "real_max_points": 100,
        },
        "paper": {
            "n_plans": 50,
            "sigma_los": (0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0),
            "n_walls": (0, 5, 10, 15, 20, 30, 40),
            "n_aps": (5, 10, 20, 30, 50, 75, 100),
            "p_missing": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
            "real_max_points": 0,
        },
    },
    # Paper A (fingerprint similarity vs physical distance). max_pairs: fingerprint pairs per
    # scenario in Study 1; gp: keyword arguments of ipsbook.methods.dml.meta.fit_meta_metric
    # (CPU, n_jobs=1, 2 cores: 200k real pairs x 12 metrics take about 3 s at quick and
    # 154 s at paper); train: keyword arguments of ipsbook.methods.dml.train.train_embedding
    # (UJIIndoorLoc training, one torch thread: smoke about 1 s a model, quick 2-5 s an epoch;
    # paper about 55 s an epoch on this CPU, meant for a GPU; Kim et al. use k = 5 neighbours
    # and 30 epochs); knn_queries: queries per test set in the positioning table (0: all).
    "dml": {
        "smoke": {
            "max_pairs": 1_000,
            "granularities": ("whole", "floor"),
            "gp": {"population": 50, "generations": 5, "tournament": 5, "parsimony": 0.001,
                   "max_depth": 6, "max_pairs": 2_000},
            "train": {"epochs": 1, "steps_per_epoch": 5, "batch_anchors": 32,
                      "k_neighbours": 5, "n_random": 32, "hidden": (64,), "out_dim": 16,
                      "num_threads": 1, "stop": None},
            "knn_queries": 100,
        },
        "quick": {
            "max_pairs": 20_000,
            "granularities": ("whole", "building", "floor"),
            "gp": {"population": 200, "generations": 15, "tournament": 7, "parsimony": 0.001,
                   "max_depth": 8, "max_pairs": 20_000},
            "train": {"epochs": 4, "steps_per_epoch": None, "batch_anchors": 128,
                      "k_neighbours": 5, "n_random": 64, "hidden": (256, 128), "out_dim": 32,
                      "num_threads": 1, "stop": None},
            "knn_queries": 500,
        },
        # full: Study 1 at the paper's pairs; a GP 2.5x quick's population, 2x its generations
        # and pairs; each embedding trained to a plateau (capped at Kim et al.'s 30 epochs) with
        # the quick network and Kim et al.'s 144 random members; every query in the kNN table
        "full": {
            "max_pairs": 200_000,
            "granularities": ("whole", "building", "floor"),
            "gp": {"population": 500, "generations": 30, "tournament": 7, "parsimony": 0.0005,
                   "max_depth": 8, "max_pairs": 40_000},
            "train": {"epochs": 30, "steps_per_epoch": None, "batch_anchors": 128,
                      "k_neighbours": 5, "n_random": 144, "hidden": (256, 128), "out_dim": 32,
                      "num_threads": 1, "stop": _STOP_SHORT},
            "knn_queries": 0,
        },
        "paper": {
            "max_pairs": 200_000,
            "granularities": ("whole", "building", "floor"),
            "gp": {"population": 1000, "generations": 50, "tournament": 7,
                   "parsimony": 0.0005, "max_depth": 10, "max_pairs": 100_000},
            "train": {"epochs": 30, "steps_per_epoch": None, "batch_anchors": 64,
                      "k_neighbours": 5, "n_random": 144, "hidden": (512, 256),
                      "out_dim": 64, "num_threads": None, "stop": None},
            "knn_queries": 0,
        },
    },
    # Paper E (MTLoc). seeds: repetitions (each draws its own split and initial weights);
    # directions: source → target pairs split by trace; walked: pairs split by walked corridor
    # (contiguous 10 s blocks within traces, methods/mtloc/splits.py; source "rounds" = the
    # authors' own rounds, pre-training only); pretrain / target: IMU-LSTM pre-training (Table IV
    # under paper) and every MTLoc training on the target (epochs, learning rate, batch); rates:
    # fine-tuning shares of the target's training units (traces or blocks); wipe_fractions:
    # Fig. 5's sweep; step_s: the sample step (paper 0.1 s); round_seeds: seeds of the
    # leave-one-round-out Table IV on the rounds.
    # Cost: quick's old design (2 by-trace directions x 5 seeds x 11 fits of 6 epochs) took
    # 1,736 s with 2 workers, i.e. ~32 CPU-s per fit with its evaluation; the design below has
    # 3 directions x 5 seeds x 7 fits (pre-training, scratch, transfer, 3 fine-tuning rates, the
    # held-scan variant) = 105 fits, about the same. full stops each fit on a plateau (best
    # validation epoch 1-5 on the malls, then patience 8: ~9-13 epochs, ~2x quick's 6) with 8
    # fits per run: 15 runs x 8 x ~64 CPU-s = ~7,700 CPU-s, ~65 min on 2 workers (estimate).
    "mtloc": {
        "smoke": {
            "seeds": (0,),
            "directions": (),  # one run in-process: the by-trace path is unit-tested
            "walked": (("rounds", "site2"),),
            "pretrain": {"epochs": 1, "lr": 0.005, "batch_size": 256},
            "target": {"epochs": 1, "lr": 0.001, "batch_size": 256},
            "rates": (0.0, 0.625, 1.0),
            "wipe_fractions": (0.0, 0.4, 1.0),
            "step_s": 1.0,
            "round_seeds": 1,
            "stop": None,
        },
        "quick": {
            "seeds": (0, 1, 2, 3, 4),
            "directions": (("site1", "site2"),),
            "walked": (("site1", "site2"), ("rounds", "site2")),
            "pretrain": {"epochs": 6, "lr": 0.005, "batch_size": 128},
            "target": {"epochs": 6, "lr": 0.001, "batch_size": 128},
            "rates": (0.0, 0.125, 0.625, 1.0),
            "wipe_fractions": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
            "step_s": 0.1,
            "round_seeds": 1,
            "stop": None,
        },
        # full: every phase to a plateau on the validation samples (stop), capped at Table IV's
        # 100 epochs; batch 128 as quick (the paper's 32 is 4x the steps)
        "full": {
            "seeds": (0, 1, 2, 3, 4),
            "directions": (("site1", "site2"),),
            "walked": (("site1", "site2"), ("rounds", "site2")),
            "pretrain": {"epochs": 100, "lr": 0.005, "batch_size": 128},
            "target": {"epochs": 100, "lr": 0.001, "batch_size": 128},
            "rates": (0.0, 0.125, 0.375, 0.625, 1.0),
            "wipe_fractions": tuple(k / 10 for k in range(11)),
            "step_s": 0.1,
            "round_seeds": 2,
            "stop": _STOP,
        },
        "paper": {
            "seeds": (0, 1, 2, 3, 4),
            "directions": _BOTH_WAYS,
            "walked": (*_BOTH_WAYS, ("rounds", "site1"), ("rounds", "site2")),
            "pretrain": {"epochs": 100, "lr": 0.005, "batch_size": 32},
            "target": {"epochs": 100, "lr": 0.001, "batch_size": 32},
            "rates": _EIGHTHS,
            "wipe_fractions": tuple(k / 10 for k in range(11)),
            "step_s": 0.1,
            "round_seeds": 5,
            "stop": None,
        },
    },
    # Paper C (multi-surrogate teachers), ipsbook.methods.mst.experiment.Settings.from_profile:
    # targets; models per table; per dataset (UJI = ujiindoorloc) the epochs and learning rate
    # of every phase trained on it, the teachers' epochs, CNNLoc's SAE pre-training epochs
    # (sae_epochs: every CNNLoc trained from fresh weights on the dataset first pre-trains its
    # framer as an auto-encoder, train.pretrain_framer; 0 = off; the other networks ignore it
    # and their cache digests do not contain it), and caps on training / test fingerprints
    # (None = all); seeds of Tables 1-3; Table 4's partitions and fractions; workers: processes
    # for run_all (one torch thread each); cpu_bf16: the networks trained under bfloat16
    # autocast on CPU (forward passes only; weights, optimiser, losses, evaluation float32):
    # BayesCNN, whose float32 epoch already runs at ~90 % of this CPU's single-thread sgemm,
    # trains 1.7-1.8x faster so (benchmarks/bench_mst.py, section precision: its loss curve
    # stays nearer float32's than another seed's). On CUDA every network already runs under
    # bf16 autocast (TrainConfig.amp).
    # Cost (experiment.EPOCH_MS, measured on this 2-core CPU with 1 thread, ms per fingerprint
    # per epoch; e.g. UJI stand-alone DNN 0.075, CNNLoc 0.36, BayesCNN 0.90, bAaT 0.31;
    # distilling with two teachers DNN 0.31, CNNLoc 0.55, BayesCNN 1.4, bAaT 0.59; CNNLoc's SAE
    # pre-training 0.020, i.e. 0.40 s per epoch of UJI's 19,937) and the quick arithmetic, from
    # experiment.estimate(): 129 runs = 1,734 CPU-s since BayesCNN's and bAaT's rows were
    # measured again after their speed-ups (2026-12-07); before, 2,296 CPU-s: 12 experts (4 models x 3 datasets,
    # stand-alone + teacher) 711 s; the rest of Table 1 (4 models distilled on 3 targets; * and
    # ** for DNN and CNNLoc only) 938 s; Table 2 (DNN, CNNLoc) 414 s; Tables 3 / 4 (DNN) 47 /
    # 187 s. Two workers -> ~1,150 s of compute. Measured: the whole chapter notebook
    # (`ipsbook run mst --profile quick`, fresh artefacts, SAE pre-training included) 874 s
    # (14.6 min) wall, its runs at 0.75 of the estimate, within the chapter's 25 minutes
    # (run_all alone before SAE pre-training: 773 s on an idle machine).
    # UJI 3 epochs of all 19,937 (468 steps), Tampere / UJI-LIB 40; Table 4 partitions 30 / 200
    # epochs (a 10 % partition gets about its full set's steps); five partitions. SAE: UJI 5
    # epochs (1,515 RMSprop steps of batch 66, 2 s a network: reconstruction MSE 1.6e-4
    # untrained -> 1.7e-5, 97 % of the way to the 1.2e-5 of 40 epochs), Tampere / UJI-LIB the
    # authors' 40 (under 1 s); twelve UJI pre-trainings in all (CNNLoc's expert, its five
    # distilling runs on UJI, the UJI phase of each of its six * / ** runs).
    # paper: Sect. 4.1 (UJI 500 @ 1e-3, Tampere 2000 @ 1e-3, UTS 400 @ 1e-4; UJI-LIB 2000 @ 1e-3
    # like the Tampere-sized set it is), all models in all tables, ten partitions; SAE 40 epochs
    # on every dataset (the CNNLoc authors' main.py: epoch_sae = 40); estimate(): 483 runs,
    # 484,000 CPU-s = 134 CPU-hours (~67 h wall on 2 cores; BayesCNN 71 of them): meant for a
    # GPU.
    "mst": {
        "smoke": {
            "targets": ("tampere",),
            "models": {"table1": ("dnn",), "table2": ("dnn",), "table3": ("dnn",),
                       "table4": ("dnn",)},
            "transfer_models": ("dnn",),
            "epochs": {"ujiindoorloc": 1, "tampere": 1, "uji-lib": 1, "uts": 1},
            "partition_epochs": {"ujiindoorloc": 1, "tampere": 1, "uji-lib": 1, "uts": 1},
            "lr": {"ujiindoorloc": 1e-3, "tampere": 1e-3, "uji-lib": 1e-3, "uts": 1e-4},
            "teacher_epochs": {"ujiindoorloc": 1, "tampere": 1, "uji-lib": 1, "uts": 1},
            "sae_epochs": {"ujiindoorloc": 1, "tampere": 1, "uji-lib": 1, "uts": 1},
            "max_train": {"ujiindoorloc": 48, "tampere": 48, "uji-lib": 48, "uts": 48},
            "max_test": {"ujiindoorloc": 64, "tampere": 64, "uji-lib": 64, "uts": 64},
            "seeds": (0,),
            "seed_limits": {},
            "partitions": (0, 1),
            "fractions": {"ujiindoorloc": (0.01, 0.1), "tampere": (0.1,), "uji-lib": (0.1,),
                          "uts": (0.1,)},
            "checkpoint_every": 1,
            "workers": 1,
            "stop": None,
            "cpu_bf16": (),
        },
        "quick": {
            "targets": ("ujiindoorloc", "uji-lib", "tampere"),
            "models": {"table1": ("dnn", "cnnloc", "bayescnn", "baat"),
                       "table2": ("dnn", "cnnloc"), "table3": ("dnn",), "table4": ("dnn",)},
            "transfer_models": ("dnn", "cnnloc"),
            "epochs": {"ujiindoorloc": 3, "tampere": 40, "uji-lib": 40, "uts": 3},
            "partition_epochs": {"ujiindoorloc": 30, "tampere": 200, "uji-lib": 200, "uts": 30},
            "lr": {"ujiindoorloc": 1e-3, "tampere": 1e-3, "uji-lib": 1e-3, "uts": 1e-3},
            "teacher_epochs": {"ujiindoorloc": 3, "tampere": 40, "uji-lib": 40, "uts": 3},
            "sae_epochs": {"ujiindoorloc": 5, "tampere": 40, "uji-lib": 40, "uts": 5},
            "max_train": {"ujiindoorloc": None, "tampere": None, "uji-lib": None, "uts": None},
            "max_test": {"ujiindoorloc": None, "tampere": None, "uji-lib": None, "uts": None},
            "seeds": (0,),
            "seed_limits": {},
            "partitions": (0, 1, 2, 3, 4),
            "fractions": {"ujiindoorloc": (0.01, 0.1), "tampere": (0.1,), "uji-lib": (0.1,),
                          "uts": (0.1,)},
            "checkpoint_every": 100,
            "workers": 2,
            "stop": None,
            "cpu_bf16": ("bayescnn",),
        },
        # full: every phase to a plateau on a validation split of the training fingerprints
        # (stop), capped below the paper's epochs; sized for two working sessions on 2 cores:
        # estimate() at the caps 199 runs, 9.1 CPU-h for all three targets, 124 runs and 4.8
        # CPU-h for part 1 below (the stop rule ends most phases well before the cap: the
        # frozen run took 0.40x the estimate of the older EPOCH_MS). Three seeds for DNN
        # and CNNLoc in Table 1 (stand-alone, +++); one for Table 1's * / ** rows, BayesCNN,
        # bAaT and Tables 2-3 (the first try, three seeds everywhere, was 319 runs, 26.6 CPU-h)
        "full": {
            # the reference run in two parts, each frozen when it finishes: part 1 (commit
            # c04141a) had the targets Tampere and UJI-LIB only (their teachers include UJI's
            # experts); part 2 is this whole plan with UJI, whose 19,937 fingerprints cost more
            # than both. The artefact store keeps part 1's runs (same run digests), so part 2
            # trained only what UJI adds.
            "targets": ("ujiindoorloc", "uji-lib", "tampere"),
            "models": {"table1": ("dnn", "cnnloc", "bayescnn", "baat"),
                       "table2": ("dnn", "cnnloc"), "table3": ("dnn", "cnnloc"),
                       "table4": ("dnn", "cnnloc")},
            "transfer_models": ("dnn", "cnnloc"),
            "epochs": {"ujiindoorloc": 60, "tampere": 400, "uji-lib": 400, "uts": 60},
            "partition_epochs": {"ujiindoorloc": 200, "tampere": 1000, "uji-lib": 1000,
                                 "uts": 200},
            "lr": {"ujiindoorloc": 1e-3, "tampere": 1e-3, "uji-lib": 1e-3, "uts": 1e-4},
            "teacher_epochs": {"ujiindoorloc": 60, "tampere": 400, "uji-lib": 400, "uts": 60},
            "sae_epochs": {"ujiindoorloc": 40, "tampere": 40, "uji-lib": 40, "uts": 40},
            "max_train": {"ujiindoorloc": None, "tampere": None, "uji-lib": None, "uts": None},
            "max_test": {"ujiindoorloc": None, "tampere": None, "uji-lib": None, "uts": None},
            "seeds": (0, 1, 2),
            # three seeds for DNN and CNNLoc in Table 1; one for the rest (their verdicts use
            # a bootstrap over the test fingerprints instead of the spread over seeds)
            "seed_limits": {"table2": 1, "table3": 1, "bayescnn": 1, "baat": 1, "transfer": 1},
            "partitions": (0, 1, 2, 3, 4),
            "fractions": {"ujiindoorloc": (0.01, 0.1), "tampere": (0.1,), "uji-lib": (0.1,),
                          "uts": (0.1,)},
            "checkpoint_every": 5,
            "workers": 2,
            "stop": _STOP,
            "cpu_bf16": ("bayescnn",),
        },
        "paper": {
            "targets": ("ujiindoorloc", "uji-lib", "tampere"),
            "models": {t: ("dnn", "cnnloc", "bayescnn", "baat")
                       for t in ("table1", "table2", "table3", "table4")},
            "transfer_models": ("dnn", "cnnloc", "bayescnn", "baat"),
            "epochs": {"ujiindoorloc": 500, "tampere": 2000, "uji-lib": 2000, "uts": 400},
            "partition_epochs": {"ujiindoorloc": 500, "tampere": 2000, "uji-lib": 2000,
                                 "uts": 400},
            "lr": {"ujiindoorloc": 1e-3, "tampere": 1e-3, "uji-lib": 1e-3, "uts": 1e-4},
            "teacher_epochs": {"ujiindoorloc": 500, "tampere": 2000, "uji-lib": 2000, "uts": 400},
            "sae_epochs": {"ujiindoorloc": 40, "tampere": 40, "uji-lib": 40, "uts": 40},
            "max_train": {"ujiindoorloc": None, "tampere": None, "uji-lib": None, "uts": None},
            "max_test": {"ujiindoorloc": None, "tampere": None, "uji-lib": None, "uts": None},
            "seeds": (0,),
            "seed_limits": {},
            "partitions": tuple(range(10)),
            "fractions": {"ujiindoorloc": (0.01, 0.1), "tampere": (0.1,), "uji-lib": (0.1,),
                          "uts": (0.1,)},
            "checkpoint_every": 25,
            "workers": 2,
            "stop": None,
            "cpu_bf16": ("bayescnn",),
        },
    },
}


class ProfileError(ValueError):
    """An unknown profile, chapter key or override."""


@dataclass(frozen=True)
class Config(Mapping[str, Any]):
    """The resolved sizes of one chapter under one profile (read-only mapping + attributes)."""

    key: str
    profile: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(
                f"chapter {self.key!r} has no size {name!r}; known: {', '.join(self.values)}"
            ) from None

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def __iter__(self):
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (profile included) for saving next to results."""
        return {"chapter": self.key, "profile": self.profile, **dict(self.values)}


def check_profile(profile: str) -> str:
    """Return ``profile`` if it is known, else raise :class:`ProfileError` naming the choices."""
    if profile not in PROFILES:
        raise ProfileError(f"profile={profile!r} is not known; allowed: {', '.join(PROFILES)}")
    return profile


def chapters() -> tuple[str, ...]:
    """Chapter keys that have sizes."""
    return tuple(_SIZES)


def resolve(key: str, profile: str, **overrides: Any) -> Config:
    """Sizes of chapter ``key`` under ``profile``; ``overrides`` (not None) replace single sizes.

    >>> resolve("bfp", "smoke").n_mc
    2
    """
    check_profile(profile)
    if key not in _SIZES:
        raise ProfileError(f"chapter key={key!r} has no profile sizes; known: {', '.join(_SIZES)}")
    values = dict(_SIZES[key][profile])
    for name, value in overrides.items():
        if value is None:
            continue
        if name not in values:
            raise ProfileError(
                f"override {name}={value!r} is not a size of chapter {key!r}; "
                f"allowed: {', '.join(values)}"
            )
        values[name] = value
    return Config(key=key, profile=profile, values=values)


def table(key: str) -> Any:
    """The chapter's sizes, one row per size and one column per profile, shown whole (for the
    book: nothing cut to "0.0...")."""
    import pandas as pd

    from .display import readable

    if key not in _SIZES:
        raise ProfileError(f"chapter key={key!r} has no profile sizes; known: {', '.join(_SIZES)}")
    names = list(_SIZES[key][PROFILES[0]])
    rows = [{"size": n, **{p: _fmt(_SIZES[key][p].get(n)) for p in PROFILES}} for n in names]
    return readable(pd.DataFrame(rows))


def _fmt(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k} {_fmt(v)}" for k, v in value.items())
    if isinstance(value, tuple):
        return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return str(value)
