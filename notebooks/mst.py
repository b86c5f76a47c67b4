# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# (mst)=
# # Multi-surrogate teachers: aligning representations across fingerprint datasets
#
# **Paper C** — S. Nguyen et al., *Multi-Surrogate-Teacher Assistance for Representation
# Alignment in Fingerprint-based Indoor Localization* ({cite}`nguyen2024multisurrogate`).
# A deep fingerprinting network ("specialised model") is cut into a Framer F, an Extractor E
# and a Regressor R. **Expert Training**: on each *source* dataset the model is trained alone,
# then a small *surrogate teacher* G_i (three fully connected layers) learns to generate that
# model's representations Z^F and Z^E from noise, as a WGAN-GP generator
# ({cite}`gulrajani2017wgangp`). **Expert Distilling**: a fresh model is trained on the
# *target* dataset with J_overall = λ̄1·J_MAE + λ̄2·J_Sim + λ̄3·J_MI + λ̄4·J_FI, three
# unsupervised constraints that align its representations with the teachers' — an angular
# margin (J_Sim, eq. 1), a Jensen–Shannon mutual-information bound with a Deep-InfoMax critic
# Ψθ (J_MI, eqs. 4/13/14, {cite}`hjelm2019deepinfomax`) and a functional constraint on the
# spectral norm of the Extractor's transfer from Z^F to Z^E (J_FI, eqs. 8–11/15). No source
# fingerprint crosses to the target: only the teachers do.
#
# **The third dataset is not the paper's.** The paper uses UJIIndoorLoc, Tampere and UTS
# (UTSIndoorLoc). UTS's 9,108-row training file cannot be had here, so **UJI-LIB** — month 01 of
# the UJI library long-term set ({cite}`mendoza2018longterm`, CC BY 4.0; training `trn01`,
# 576 fingerprints; test `tst01`–`tst05`, 3,120) — stands in its place: our pairs are
# LIB & Tampere → UJI, UJI & Tampere → LIB, UJI & LIB → Tampere. Every table keeps the paper's
# UTS numbers beside our UJI-LIB numbers, marked *not comparable: UTS substituted by UJI-LIB*.
# A user who has the UTS files runs the paper's exact pairs with `-p third=uts`.
#
# **The four networks** (`ipsbook.models.fingerprint`, each with F / E / R):
# DNN ({cite}`felix2016dnn`), CNNLoc ({cite}`song2019cnnloc`: stacked auto-encoder + 1-D CNN,
# following the authors' public code), BayesCNN ({cite}`sinha2021bayescnn`: VGG blocks) and
# bAaT ({cite}`nguyen2023baat`: an anchor-agnostic transformer). The texts of DNN, BayesCNN
# and bAaT and the code of the collective-transfer baseline ({cite}`klus2021transfer`) were not
# reachable from here; those architectures are our reconstructions from the papers that cite
# them, stated in each docstring.
#
# **Where we had to choose** (each choice is documented in the code):
# * *J_Sim (eq. 1).* Eq. 1 defines Ẑ_S·Ẑ_G as the **batch mean** of the rows' cosines and
#   takes one arccos of it, then adds the margin: J_Sim = max(0, 1 − cos(arccos(c̄) + α)),
#   α = 0.2 rad. That printed form is our default (`sim_mode="printed"`), in both phases. It is
#   never zero for α > 0 (identical representations give 1 − cos α ≈ 0.020: the max(0, ·) never
#   acts), an ArcFace-style margin that makes agreement "harder" as the paper says. Two readings
#   are kept as ablations: one angle per pair, averaged (`"per-sample"`), and a hinge that is zero
#   within the margin (`"hinge"`, this chapter's earlier default). Changing the form retrains
#   the teachers too: it enters the cache digests of every expert and distilling run.
# * *Expert Training.* The paper names WGAN-GP and three fully connected layers, nothing more;
#   the layer widths (noise 128 → 256 → Z^F → Z^E), the critic and the constants are ours: the
#   teacher G_i is a WGAN-GP generator (Gulrajani et al.'s constants: 5 critic steps per
#   generator step, gradient-penalty weight 10, Adam at 10⁻⁴, β = (0.5, 0.9); unit weights on
#   its two extra constraints) whose loss also
#   carries J_Sim against the source model's Z^E and eq. 2's J_MAE through the source model's
#   regressor R_i. Row-wise pairing of generated with real representations pulls G_i towards
#   their mean, so each generated Z^E is paired with its nearest real Z^E of the batch
#   (`pairing="nearest"` in `ipsbook.methods.mst.teachers`; `"row"` is the literal reading).
# * *J_MI (eqs. 4, 13, 14).* Eq. 4 prints the sum over the teachers before the first
#   expectation only; Algorithm 3 (lines 16–17) sums the whole bound per teacher, which we do.
#   Eq. 4 is a bound to *maximise*, while eq. 12 adds λ̄3·J_MI to a loss that is minimised: we
#   minimise its negative. Eq. 13's second expectation should read log q/m under the product
#   of the marginals, and what App. D calls D_JS is 2·D_JS − ln 4 for the best critic. The paper
#   gives Ψθ no architecture and Algorithm 3 never updates it: ours is Deep InfoMax's
#   concatenate-and-score MLP (two 512-unit layers), trained jointly with S. Negatives: the
#   cyclic shift of Algorithm 3 (line 13). For N teachers, J_MI cannot fall below **N·ln 4**
#   in expectation when the pairs are independent (2·ln 4 ≈ 2.773 for two; derived in
#   `losses.mi_no_information`, pinned by a test).
# * *Algorithm 3 pairs independent draws*: the student's Z_S^E comes from the data batch, the
#   teacher's Z_G^E from fresh noise, so row k of one is independent of row k of the other and
#   J_MI's "joint" pairs are, in distribution, pairs from the product of the marginals. We run
#   what the paper writes (`pairing="row"`) and, as a switch, pair each student row with the
#   teacher's draw nearest to it in angle (`pairing="nearest"`, the reading we use for Expert
#   Training): see [Do the constraints act?](mst-constraints).
# * *J_FI (eqs. 8–11).* Eq. 11's ‖·‖₂ of a scalar difference is its absolute value; the
#   teachers' side carries no gradient (they are frozen). Two more readings follow.
# * *T_j of eq. 8* contracts over the feature axis, which only type-checks for square blocks; we
#   contract over the batch (as the cited LONDON does) and divide by the batch size. *Eq. 10*
#   writes σ₁(T) = ‖W‖_SN where the top eigenvalue of T is ‖W‖²_SN; we use its square root, as
#   the paper's Algorithm 1 returns.
# * *λ normalisation*: λ̄ = λ / Σλ over the terms in use (bAaT++ has no J_FI).
# * *Model selection*: the paper says nothing. Under `smoke`, `quick` and `paper`: none, the
#   last epoch's weights (a validation split would shrink Table 4's 1 % partitions further).
#   Under `full`: the best epoch on a validation split of each phase's training set, where the
#   phase also stops (see [Training to a plateau](mst-convergence)).
# * *UJI-LIB's schedule*: Tampere's (2,000 epochs at 10⁻³ under `paper`): the two sets have the
#   same size (576 and 697 fingerprints).
# * *Transfer baselines* `*` (sequential) and `**` (collective, {cite}`klus2021transfer`):
#   per-dataset encoders (the Framer, re-initialised for each dataset) and the body carried
#   from source to target, reconstructed from paper C's description.
#
# **Beyond the paper**: plain distance-weighted kNN fingerprinting (scikit-learn, k = 3, 4, 5,
# "not heard" → −110 dBm) on the same training and test sets, in every table.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | full | paper: models per table, epochs, partitions (table below)
seed = 0  # offset added to the profile's run seeds and Table 4's partition seeds (at least 0)
output_dir = "."  # set by the runner: tables, figures and claims are written here
third = "uji-lib"  # the third dataset; uts needs its files, absent here ("uji-lib" or "uts")
targets = ""  # target datasets, comma-separated (e.g. "tampere,uji-lib"); "" = the profile's
lambda_mae = 3.0  # λ1, weight of J_MAE in J_overall (eq. 12); the four λ are normalised (≥ 0)
lambda_sim = 0.5  # λ2, weight of J_Sim (≥ 0)
lambda_mi = 0.5  # λ3, weight of J_MI (≥ 0)
lambda_fi = 0.5  # λ4, weight of J_FI; bAaT never uses it (≥ 0)
sim_mode = "printed"  # J_Sim's form: "printed" (eq. 1), "per-sample" or "hinge" (ablations)
pairing = "row"  # student/teacher rows in J_Sim, J_MI: "row" (Algorithm 3) or "nearest"
workers = 0  # processes running runs side by side; 0 takes the profile's value (at least 0)
num_threads = 1  # torch intra-op threads per run (at least 1)
cpu_bf16 = "profile"  # networks trained under bf16 autocast on CPU, comma-separated ("bayescnn"); "none" = all float32; "profile" = the profile's
scheduler = ""  # address of an existing Dask scheduler (tcp://host:8786) for the runs; "" = local
artefacts_dir = ""  # folder keeping experts, runs and checkpoints for reuse; empty = user cache

# %%
from dataclasses import replace
from pathlib import Path

from IPython.display import Markdown, display

import ipsbook
from ipsbook import plotting, profiles
from ipsbook.book.outputs import RunOutput
from ipsbook.data import cache_dir
from ipsbook.methods.mst import data, experiment, paper, plots, report, verdicts

ipsbook.setup(seed)
for _name, _v in (("workers", workers), ("seed", seed)):
    if isinstance(_v, bool) or not isinstance(_v, int) or _v < 0:
        raise ValueError(f"{_name}={_v!r} must be an integer >= 0")
cfg = profiles.resolve("mst", profile)
params = {"seed": seed, "third": third, "targets": targets, "lambda_mae": lambda_mae, "lambda_sim": lambda_sim,
          "lambda_mi": lambda_mi, "lambda_fi": lambda_fi, "sim_mode": sim_mode,
          "pairing": pairing, "workers": workers, "num_threads": num_threads,
          "cpu_bf16": cpu_bf16, "artefacts_dir": artefacts_dir}
out = RunOutput(output_dir, chapter="mst", paper="C", cfg=cfg, params=params)
plotting.use_style()

settings = experiment.Settings.from_profile(
    cfg, third=third, lambdas=(lambda_mae, lambda_sim, lambda_mi, lambda_fi),
    num_threads=num_threads, targets=tuple(t for t in targets.split(",") if t.strip()) or None,
    seeds=tuple(seed + s for s in cfg.seeds), partitions=tuple(seed + p for p in cfg.partitions),
    cpu_bf16=experiment.parse_cpu_bf16(cpu_bf16),
)
# DistillOptions checks both names against the allowed values
settings = replace(settings, options=replace(settings.options, sim_mode=sim_mode, pairing=pairing))
n_workers = workers or int(cfg.workers)
run_on = {"workers": n_workers, "scheduler": scheduler or None}  # local pool or a Dask cluster
ARTEFACTS = Path(artefacts_dir) if artefacts_dir else cache_dir() / "mst" / profile
PROFILE_NOTE = (
    f"profile `{profile}`: epochs UJI {settings.epochs['ujiindoorloc']}, Tampere "
    f"{settings.epochs['tampere']}, {data.label(settings.third)} {settings.epochs[settings.third]} "
    "(paper: 500, 2000, UTS 400)")
SEEDS_NOTE = f"{PROFILE_NOTE}; {report.seeds_note(settings)}, test errors pooled"

# %% tags=["hide-input"]
display(Markdown(
    f"**Profile: `{profile}`** — targets {', '.join(data.label(t) for t in settings.targets)}; "
    + "; ".join(f"{t}: {', '.join(experiment.MODEL_LABELS[m] for m in ms) or '—'}"
                for t, ms in settings.models.items())
    + f"; seeds {list(settings.seeds)} ({report.seeds_note(settings)}); Table 4 partitions {len(settings.partitions)}; "
    f"{PROFILE_NOTE}; J_Sim `{sim_mode}`, pairing `{pairing}`; {n_workers} worker(s) × "
    f"{num_threads} thread(s); {report.precision_note(settings)}."))
profiles.table("mst")

# %% [markdown]
# (mst-data)=
# ## The three datasets, in the paper's convention
#
# `ipsbook.methods.mst.data` reads each set through the registry (checksums verified), fills
# "not heard" with 100 as the paper says, and gives 2-D positions in metres (UJI: its
# Web-Mercator coordinates minus a fixed origin; Tampere and UJI-LIB: their own frames). Each
# model then scales the RSS the way its own paper does. The splits are the paper's: UJI's
# official training and validation files, Tampere's training and test files, UJI-LIB's month-01
# training set and its five test sets pooled.

# %% tags=["hide-input"]
datasets_table = report.datasets_table(settings)
out.table(datasets_table, "datasets")
datasets_table.style.hide(axis="index")

# %% [markdown]
# The models' sizes on each dataset, split as the paper requires (F → Z^F → E → Z^E → R);
# the teachers generate Z^F and Z^E, so their widths are what the teachers must match.

# %% tags=["hide-input"]
models_table = report.models_table(settings)
out.table(models_table, "models")
models_table.style.hide(axis="index")

# %% [markdown]
# (mst-run)=
# ## Running every table
#
# One call trains and evaluates everything the tables need (`experiment.run_all`): one
# *expert* per model, dataset and seed (stand-alone training, then its surrogate teacher), then
# the distilling runs, the transfer baselines, Table 4's partitions and kNN. Rows of different
# tables that are the same experiment are run once (Table 1's `+++` is Table 2's `+++` and
# Table 3's two-source row). Every run is kept under `artefacts_dir`, keyed by a digest of the
# settings it depends on (the loss options included), so a re-run reuses it and an interrupted
# run resumes from its last checkpoint. The numbers do not depend on `workers` (tested). The
# digests cover the settings, not the package's code: after changing the training code, point
# `artefacts_dir` at a fresh folder (or delete the old one), or the old results are reused.
#
# **Arithmetic.** The networks train in float32, as the paper's TensorFlow did by default, with
# one exception on CPU: the networks named by `cpu_bf16` (the profiles name BayesCNN) run each
# training forward pass under bfloat16 autocast (`torch.autocast`; convolutions and matrix
# products in bf16, the weights, the optimiser, the losses and every evaluation in float32).
# BayesCNN's float32 epoch already runs at about 90 % of this CPU's single-thread sgemm rate, so
# only cheaper arithmetic could make it faster; under bf16 it trains 1.7–1.8× faster, and its
# loss curve stays nearer float32's than float32's own curve under another seed
# (`benchmarks/bench_mst.py`, section *precision*, on the {ref}`performance <performance>` page).
# The test errors of BayesCNN's rows are therefore those of bf16 training. On a CPU without
# native bf16 instructions the switch is slower, not faster: pass `cpu_bf16="none"`. On CUDA
# every network already trains under bf16 autocast (`TrainConfig.amp`).

# %%
estimated = experiment.estimate(settings)
display(Markdown(
    f"{len(estimated)} runs, estimated {estimated.seconds.sum() / 60:.0f} CPU-minutes "
    f"(this machine's measured epoch times, one thread per run), about "
    f"{estimated.seconds.sum() / 60 / n_workers:.0f} minutes on {n_workers} worker(s)."))
# the bar over the runs is also what `ipsbook run` prints to a log every 30 s (make book | tee)
res = experiment.run_all(settings, experiment.TABLES, artefacts_dir=ARTEFACTS, **run_on,
                         progress=True)
errors = res.errors

# %% [markdown]
# (mst-convergence)=
# ## Training to a plateau
#
# Under the `full` profile every network phase — stand-alone, distilling, each phase of the
# transfer baselines, Table 4's partitions — trains until the mean error on a validation split
# of its *training* fingerprints (whole reference points at a time; the test set is never
# looked at) stops improving: the learning rate falls after a few epochs without a relative
# improvement of `min_delta`, the phase ends after `patience` such epochs, and the best
# epoch's weights are kept (the rule's values are printed below). The profile's epochs are the
# cap. The teachers (a WGAN-GP has no validation error that says when to stop)
# and CNNLoc's SAE pre-training keep their fixed epochs. Under `smoke`, `quick` and `paper`
# there is no rule and nothing to show here.

# %% tags=["hide-input"]
if res.validation.empty:
    display(Markdown(f"Profile `{profile}` trains fixed epochs (no stop rule): no validation "
                     "curves."))
else:
    out.figure(plots.validation_figure(res.validation, seed=settings.seeds[0],
                                       caption=f"Validation error per epoch ({PROFILE_NOTE})"),
               "validation_curves")
    out.table(res.validation, "validation_curves")
    rule = settings.stop
    display(Markdown(
        f"Rule: validation split {100 * rule.val_fraction:.0f} % of the training fingerprints; "
        f"learning rate × {rule.lr_factor:g} after {rule.lr_patience} epochs without a "
        f"{100 * rule.min_delta:g} % improvement (down to {rule.min_lr:g}); stop after "
        f"{rule.patience}; caps UJI {settings.epochs['ujiindoorloc']}, Tampere "
        f"{settings.epochs['tampere']}, {data.label(settings.third)} "
        f"{settings.epochs[settings.third]} epochs (Table 4's partitions "
        f"{settings.partition_epochs.get('ujiindoorloc', settings.epochs['ujiindoorloc'])} / "
        f"{settings.partition_epochs.get('tampere', settings.epochs['tampere'])})."))
    stopping = report.stopping_table(res.training)
    out.table(stopping, "stopping")
    display(Markdown(report.stopping_text(stopping)))
    display(report.shown(stopping, list(stopping.columns),
                         f"How each group of phases ended ({PROFILE_NOTE})", precision=0))

# %% [markdown]
# (mst-table1)=
# ## Table 1: every model stand-alone, with transfer learning, and fully enhanced
#
# MAE, 75th and 95th percentile of the test errors (metres), the paper's beside ours;
# `gain %` is the MAE reduction against the same model's stand-alone row (the paper's
# "(x % ↑)"; negative = worse). `*` sequential and `**` collective transfer of the encoder
# networks; `+++` the framework with all three constraints (bAaT: `++`, J_Sim and J_MI only).
# kNN has no paper column.

# %% tags=["hide-input"]
t1 = report.table1(errors)
out.table(t1, "table1")
report.shown(t1, ["dataset", "method", "sources", "paper_MAE", "MAE", "paper_p75", "p75",
                  "paper_p95", "p95", "paper_gain_pct", "gain_pct", "p_below_10m", "n_train",
                  "n_seeds"], f"Table 1, ours beside the paper's ({SEEDS_NOTE})")

# %% [markdown]
# The paper's numbers are transcribed as printed (`ipsbook.methods.mst.paper`). Checking them
# against each other — every printed percentage recomputed from the MAEs it relates, the rows
# that appear in more than one table compared, the text's statements against the tables —
# turns up these disagreements; where a table and another disagree we show each table's own
# number:

# %% tags=["hide-input"]
display(Markdown("\n".join(f"* {x}" for x in paper.INCONSISTENCIES)))

# %% [markdown]
# (mst-fig2)=
# ## Fig. 2: error ECDFs, stand-alone dashed, enhanced solid
#
# The paper reads P(error < 10 m) off these curves: averaged over the models it rises "from
# around 50 %, ~60 % and ~60 % to approximately 62 %, ~72 % and ~75 %" on UJI, UTS and Tampere.
# The x-axes stop at 40 m (UJI-LIB: 15 m), which cuts the tails of the slowest-converging
# models; the tables give their p95. UJI-LIB's floors are 11 m × 14 m, so nearly every error
# there is below 10 m and this summary says little about it.

# %% tags=["hide-input"]
fig = plots.ecdf_figure(errors, xmax={"UJI-LIB": 15.0},
                        caption=f"Fig. 2 ({SEEDS_NOTE}); kNN dotted")
out.figure(fig, "fig2_ecdf")
p10 = report.p_below_10m(errors)
out.table(p10, "fig2_p_below_10m")
report.shown(p10.rename(columns={"stand_alone": "ours stand-alone", "enhanced": "ours enhanced",
                                 "paper_stand_alone": "paper stand-alone",
                                 "paper_enhanced": "paper enhanced", "n_models": "models"}),
             ["dataset", "models", "ours stand-alone", "ours enhanced", "paper stand-alone",
              "paper enhanced"],
             f"P(error < 10 m), mean over the models ({SEEDS_NOTE}; fractions)")

# %% [markdown]
# (mst-table2)=
# ## Table 2: which constraint does what (ablation)
#
# `+` J_Sim alone, `*` J_MI alone (not Table 1's `*`), `++` J_Sim + J_MI, `°` J_FI alone,
# `+++` all three; every row is distilled from both sources. The bars are our MAE gains over
# the stand-alone model, the black ticks the paper's.

# %% tags=["hide-input"]
t2 = report.table2(errors)
out.figure(plots.ablation_gains(t2, caption=f"Table 2 as gains ({PROFILE_NOTE})"), "table2_gains")
out.table(t2, "table2")
report.shown(t2, ["dataset", "method", "J_Sim", "J_MI", "J_FI", "paper_MAE", "MAE",
                  "paper_gain_pct", "gain_pct"],
             f"Table 2, ours beside the paper's ({SEEDS_NOTE}; J_Sim `{sim_mode}`)")

# %% [markdown]
# (mst-constraints)=
# ## Do the constraints act?
#
# A constraint can only shape the student through its gradient. During every distilling run we
# record, per epoch, each term's epoch mean and — on one batch in every 50 training steps (the
# first batch of every UJI epoch, of every eighth or ninth Tampere epoch), before its Adam
# step, without changing the training — the norm of the gradient of each *weighted* term
# λ̄_t·J_t with respect to the student's parameters, as a share of the four norms' sum
# (`distill.term_gradient_norms`, `distill.diagnosed_epoch`). J_MI is drawn beside its no-information value N·ln 4: the
# value the Jensen–Shannon bound takes, in expectation, when Ψθ cannot tell the joint pairs from
# the shuffled ones. Two properties of the printed losses explain much of what follows: J_MI
# has nothing to find in Algorithm 3's independent pairs (see the choices above), and eq. 11's
# J_FI, a sum of absolute differences over the two teachers, has zero slope whenever the
# student's FI lies between the teachers' two values (`losses.functional_integrity_loss`).
# Below: the fully enhanced DNN on each target (seeds averaged), then every distilling row's
# first and last values, and what they say.

# %% tags=["hide-input"]
out.figure(plots.constraint_figure(res.curves, caption=f"Expert Distilling ({PROFILE_NOTE}; "
                                   f"J_Sim `{sim_mode}`, pairing `{pairing}`)"),
           "constraint_diagnostics")
out.table(report.constraint_curves_wide(res.curves), "constraint_curves")
diag = report.constraint_summary(res.curves)
out.table(diag, "constraint_summary")
display(Markdown(report.constraint_text(diag, pairing=pairing)))
report.shown(diag, ["dataset", "model", "variant", "sources", "fraction", "epochs",
                    "J_MI_first", "J_MI_last", "J_MI_no_information", "J_MI_gap", "shares_epoch",
                    "share_J_MAE", "share_J_Sim", "share_J_MI", "share_J_FI",
                    "constraints_share"],
             f"The constraints at the first and last epoch ({SEEDS_NOTE})", precision=4)

# %% [markdown]
# **What we tried: the pairing of data rows and noise draws.** Algorithm 3 pairs the student's
# row k (a fingerprint) with the teacher's row k (a fresh noise draw), so nothing links the two
# and J_MI has no dependence to find. The switch `pairing="nearest"` pairs each student row with
# the teacher draw nearest to it in angle instead, which makes each pair depend on the student
# row. Below, the fully enhanced DNN distilled once more with the other pairing — the same
# experts, epochs and first seed — beside the run above: J_MI's last value against N·ln 4, the
# constraints' gradient share, and the test MAE. It is a switch to see what changes, not a
# setting tuned towards the paper's numbers; the tables above keep the chosen pairing.

# %%
other = "nearest" if pairing == "row" else "row"
# the first seed only: the switch shows what changes, and one seed keeps its cost small
swap = replace(settings, models={"table1": ("dnn",)}, transfer_models=(),
               seed_limits={**settings.seed_limits, "table1": 1},
               options=replace(settings.options, pairing=other))
res_other = experiment.run_all(swap, ["table1"], artefacts_dir=ARTEFACTS, **run_on,
                               knn=False, progress=False)
pairing_table = report.pairing_comparison({pairing: res, other: res_other}, model="DNN",
                                          seeds=settings.seeds[:1])
out.table(pairing_table, "pairing_switch")

# %% tags=["hide-input"]
display(Markdown(report.pairing_text(pairing_table)))
report.shown(pairing_table, list(pairing_table.columns),
             f"DNN+++ with each pairing ({SEEDS_NOTE})", precision=4)

# %% [markdown]
# (mst-table3)=
# ## Table 3: one source or two
#
# `†` distils from the first source of the target's pair only, `‡` from the second, the last
# row from both (ours: UJI ← UJI-LIB †, Tampere ‡; UJI-LIB ← UJI †, Tampere ‡; Tampere ← UJI †,
# UJI-LIB ‡; the paper's have UTS where we have UJI-LIB).

# %% tags=["hide-input"]
t3 = report.table3(errors)
out.table(t3, "table3")
report.shown(t3, ["dataset", "method", "sources", "paper_sources", "paper_MAE", "MAE",
                  "paper_gain_pct", "gain_pct"], f"Table 3, ours beside the paper's ({SEEDS_NOTE})")

# %% [markdown]
# (mst-table4)=
# ## Table 4 (App. C): 1 % and 10 % of the target's training data
#
# Each share is drawn `len(partitions)` times (seeded random subsets; the paper: ten rounds);
# the models are trained on the subset and the teachers are the experts of the full source
# sets. Mean ± standard deviation over the partitions.

# %% tags=["hide-input"]
t4 = report.table4(errors)
T4_NOTE = (f"profile `{profile}`: {len(settings.partitions)} partitions; epochs on a partition "
           + ", ".join(f"{data.label(d)} {settings.partition_epochs.get(d, settings.epochs[d])}"
                       for d in settings.datasets)
           + " (paper: ten partitions, the dataset's own epochs); UJI-LIB's 10 % is 57 "
           "fingerprints where UTS's is 910")
out.figure(plots.partition_figure(t4, caption=f"Table 4 ({T4_NOTE})"), "table4_partitions")
out.table(t4, "table4")
report.shown(t4, ["dataset", "fraction", "method", "n_train", "paper_n_train", "paper_MAE_mean",
                  "paper_MAE_std", "MAE_mean", "MAE_std", "n_partitions"],
             f"Table 4, ours beside the paper's (MAE mean and std over the partitions; {T4_NOTE})")

# %% [markdown]
# (mst-knn)=
# ## Beyond the paper: plain kNN
#
# Distance-weighted kNN on the raw RSS (missing → −110 dBm), the oldest fingerprinting method,
# on exactly the training and test sets of Table 1. Below: kNN with k = 3 (fixed beforehand:
# picking the best k on the test set would tune on it; Table 1 shows k = 3, 4, 5) next to the
# best network of each target — ours under this profile, and the best deep model the paper
# publishes for that column (for UJI-LIB: the paper's UTS, not comparable).

# %% tags=["hide-input"]
knn_table = report.knn_vs_networks(t1, "k=3")
out.table(knn_table, "knn_vs_networks")
display(Markdown(report.knn_text(knn_table, "k=3")))
knn_table.style.format(precision=2).hide(axis="index").set_caption(
    f"kNN against the networks ({SEEDS_NOTE})")

# %% [markdown]
# ## What training costs
#
# Measured in this run: seconds per epoch and training samples per second of every phase
# (one torch thread per run unless `num_threads` says otherwise), and the `paper` profile's
# cost estimated from this machine's measured epoch times (`experiment.estimate`).

# %% tags=["hide-input"]
speed = report.training_speed(res.training)
out.table(speed, "training_speed")
display(Markdown(report.training_cost_text(
    res, experiment.Settings.from_profile("paper", third=third))))
speed.style.format(precision=3).hide(axis="index").set_caption(
    f"Training speed by model, phase and dataset ({PROFILE_NOTE})")

# %% [markdown]
# ## Claims
#
# Every comparison the paper's tables make for the rows we ran, judged on our numbers under
# this profile (`ipsbook.methods.mst.verdicts`). **An ordering is taken from the paper's own
# numbers**, cell by cell: where its Table 2 has `++` better than `+++`, the claim is that `++`
# is better, whatever the text says (the disagreements are listed above). A claim "A is better
# than B" is decided by the **95 % interval of the paired difference A − B** (`ipsbook.stats`).
# Which interval, said in each claim: where both rows were trained with two seeds or more (the
# `full` profile's DNN and CNNLoc, stand-alone and `+++` in Table 1), a Student t interval over
# the per-seed differences (each seed's mean error, or its 75th percentile), so the spread
# between trainings decides; where the two rows share one seed, a seeded bootstrap over the
# test fingerprints both rows predict (the mean for MAE, the 75th percentile for p75); for
# Table 4, a Student t interval over the training partitions. It is *reproduced* when the whole
# interval is below zero, *not reproduced* when it is above (the other row is better) or
# contains zero (unresolved: the data cannot tell the two apart). The bootstrap measures the
# test set's spread, not the training's: a network trained again can land elsewhere, so a
# one-seed interval is a lower bound on the uncertainty. Fig. 2's rise of
# P(error < 10 m) is reproduced when ours rises by at least half the paper's rise. Absolute
# MAEs on UJI and Tampere are compared with a two-sided ±15 % tolerance (a value far *below*
# the paper's also fails: it means a different model or protocol); they rest on architectures
# we had to reconstruct and on the training length. Everything on the third dataset is *not
# comparable*: UJI-LIB is not UTS. Rows a profile does not run are listed as *not comparable*
# with the reason "not run".

# %%
SENS = report.sensitivity(profile, settings, res.training, PROFILE_NOTE)
verdicts.record_claims(out.claims, errors, {"table1": t1, "table2": t2, "table3": t3,
                                            "table4": t4}, p10, profile=profile, seed=seed,
                       sensitivity=SENS, columns=[data.label(d) for d in settings.datasets])

# %% [markdown]
# ## Scorecard for this chapter

# %% tags=["nbval-check-output"]
print(out.claims.verdicts())

# %% tags=["nbval-check-output"]
scorecard = out.finish()
scorecard[["artefact", "quantity", "paper_value", "ours", "status"]]
