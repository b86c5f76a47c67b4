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
# (dml)=
# # Measure what fingerprint similarity says about physical distance
#
# **Paper A** — N. Saccomanno, A. Brunello, A. Montanari, *Improving the Estimation of
# Fingerprint Spatial Relationships via Deep Metric Learning on Continuous Similarities*
# (talk, UCL, 2022; {cite}`saccomanno2022improving`), which summarises three works: the
# systematic study of classical metrics ("What you sense is not where you are", IEEE Sensors
# Journal 2021, {cite}`saccomanno2021sense`), a genetic-programming meta-distance (2022), and
# deep metric learning with the log-ratio loss of Kim et al. (CVPR 2019, {cite}`kim2019deep`).
#
# **What this chapter regenerates.** Study 1: the correlation between fingerprint distances
# and physical distances for 12 classical metrics × 4 data representations over three real
# datasets at three granularities, as a heatmap and a ranked table, with the optimal case
# (correlation 1). Study 2: a meta-metric evolved by genetic programming on one dataset and
# tested on the two others. Study 3: an embedding trained with the log-ratio loss against
# triplet losses on near/far labels at two thresholds. One positioning table (kNN) for all.
#
# **What differs from the paper, plainly.**
# * Our copy is a talk summary: it states findings, not numbers, so every claim below is a
#   finding tested on our numbers. The three full papers could not be read here; where their
#   protocols are unknown the choices are ours and are stated in the docstrings of
#   `ipsbook.methods.dml` (correlation type, pair sampling, physical distance, GP settings).
# * Datasets: UJIIndoorLoc, Tampere (TUT3) and the UJI library month 01 (UJI-LIB), all real.
# * The `quick` profile samples fewer pairs, evolves smaller GP populations and trains the
#   embeddings for fewer epochs than `paper` (table below).
#
# **What changed after review (issue 17), and why.** An independent review found that some
# verdicts said less than they seemed:
# * *Study 3* compared the embedding with Euclidean distance on raw RSS (a weak baseline); it is
#   now judged against the **best classical metric on the same validation pairs** (raw Euclidean
#   stays as an extra row), by a paired bootstrap interval over pairs of the difference of
#   correlations.
# * *Study 2*: when the GP returns one existing metric (the quick run before the review
#   returned the single terminal `cosine`), "meta-metric vs the best single metric" compares a
#   metric with itself: that claim is now **not comparable** (detected from the evolved
#   expression). The old rule "meta-metric < 0.95" could not fail in practice; it is replaced
#   by one that can (Study 2).
# * *kNN ranks* are **tie-aware**: methods whose paired-bootstrap interval of the difference of
#   errors (over the same queries) contains 0 share a rank; before, the meta-metric's "rank 2
#   of 4" came from a floating-point tie-break with cosine, whose kNN errors it shares (both
#   about 7.83 m), since the GP had returned cosine itself.
# * Every "A is better than B" is decided by the **interval of the paired difference**
#   (`claims.difference`), not by comparing two numbers; every claim states its protocol.
# * *Units*: UJIIndoorLoc's coordinates are Web Mercator (EPSG:3857), whose "metres" are about
#   1.3 ground metres at the campus latitude; errors are judged in them (as the papers report
#   them) and every UJIIndoorLoc table gives ground metres beside.
# * The positioning table shows the **field's own metrics** beside the paper's mean error:
#   floor and building hit rates, the EvAAL/IPIN score, p75 and CE95 (`ipsbook.metrics`).
#
# **What you need.** The three datasets (`make data` checks them).

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | full | paper: pairs, GP and training sizes (table below)
seed = 0  # seeds pair sampling, the GP and the embedding training
output_dir = "."  # set by the runner: tables, figures and claims are written here
correlation = "spearman"  # headline correlation: "spearman" or "pearson"
near_m_1 = 3.0  # first near/far threshold of the binarised (triplet) baseline [m] (positive)
near_m_2 = 10.0  # second near/far threshold [m] (positive)
dml_representation = "powed"  # fingerprint representation fed to the embedding network (raw | positive | exponential | powed)
n_boot = 1000  # bootstrap resamples behind every interval (pairs for correlations, queries for kNN)

# %%
import importlib

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display
from scipy.stats import spearmanr

import ipsbook
from ipsbook import data, plotting, profiles
from ipsbook import metrics as error_metrics  # `metrics` below is Study 2's list of metric names
from ipsbook.methods.dml import compare, distances, meta, positioning, representations, train

# the package re-exports the function `scenarios`, which hides the module of the same name
scenarios = importlib.import_module("ipsbook.methods.dml.scenarios")
from ipsbook.book.outputs import RunOutput

ipsbook.setup(seed)
pd.set_option("display.max_colwidth", None)
if correlation not in ("spearman", "pearson"):
    raise ValueError(f"correlation={correlation!r} is not known; allowed: 'spearman', 'pearson'")
for name, v in (("near_m_1", near_m_1), ("near_m_2", near_m_2)):
    if not v > 0:
        raise ValueError(f"{name}={v!r} must be a positive distance in metres")
if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 100:
    raise ValueError(f"n_boot={n_boot!r} must be an integer >= 100 (bootstrap resamples)")
if dml_representation not in representations.REPRESENTATIONS:
    raise ValueError(f"dml_representation={dml_representation!r} is not known; allowed: "
                     f"{', '.join(representations.REPRESENTATIONS)}")
cfg = profiles.resolve("dml", profile)
params = dict(seed=seed, correlation=correlation, near_m_1=near_m_1, near_m_2=near_m_2,
              dml_representation=dml_representation, n_boot=n_boot)
out = RunOutput(output_dir, chapter="dml", paper="A", cfg=cfg, params=params)
plotting.use_style()
display(Markdown(f"**Profile: `{profile}`** — {cfg.max_pairs} pairs per scenario, GP "
                 f"{cfg.gp['population']}×{cfg.gp['generations']}, "
                 f"{cfg.train['epochs']} training epochs."))
profiles.table("dml")

# %% [markdown]
# (dml-study1)=
# ## Study 1 — can classical metrics characterise spatial relationships?
#
# For every scenario (a dataset at one granularity), sampled pairs of fingerprints; for every
# metric and representation, the correlation between the fingerprint distance and the physical
# distance of the two positions. The optimal case is a correlation of 1. Representations and
# the missing-AP value follow Torres-Sospedra et al. ({cite}`torres2015comprehensive`); as
# written there, Sørensen equals Bray–Curtis on these non-negative (or all-negative)
# representations, so the two rows coincide; LGD and PLGD are computed on dBm whatever the
# representation. Datasets: UJIIndoorLoc ({cite}`torres2014ujiindoorloc`), TUT3
# ({cite}`lohan2017wifi`), UJI-LIB month 01 ({cite}`mendoza2018longterm`).
#
# *Units.* UJIIndoorLoc's coordinates are Web-Mercator (EPSG:3857) "metres", about 1.3 ground
# metres at the campus latitude (the factor is computed below, in the positioning section);
# UJI-LIB and TUT3 are in local metres. A correlation does not change under one scale factor, so
# Study 1 and Study 3 are unaffected, except that the assumed 4 m floor height (a guess, see
# `ipsbook.methods.dml.scenarios`) is added to Mercator x, y unconverted in UJIIndoorLoc's whole
# and building scenarios (on one floor it does not enter).

# %%
scs = [s for d in scenarios.DATASETS for s in scenarios.scenarios(d, cfg.granularities)]
study = scenarios.correlation_study(scs, distances.METRICS, representations.REPRESENTATIONS,
                                    cfg.max_pairs, seed)
out.table(study, "study1_correlations")
# each metric at its best representation (by mean correlation over scenarios)
mean_rep = study.groupby(["metric", "representation"])[correlation].mean()
best_rep = mean_rep.groupby("metric").idxmax().map(lambda t: t[1])
ranked = (mean_rep.reset_index()
          .assign(best=lambda d: d.representation == d.metric.map(best_rep))
          .query("best").drop(columns="best")
          .merge(study.groupby(["metric", "representation"])[correlation]
                 .agg(["min", "max", "std"]).reset_index(), on=["metric", "representation"])
          .sort_values(correlation, ascending=False).reset_index(drop=True))
ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
out.table(ranked, "study1_ranked")

# %%
heat = (study.merge(best_rep.rename("best_rep"), left_on="metric", right_index=True)
        .query("representation == best_rep")
        .pivot(index="metric", columns="scenario", values=correlation)
        .loc[ranked.metric])
heat.loc["optimal"] = 1.0
fig, ax = plotting.subplots(figsize=(max(8, 0.45 * heat.shape[1]), 6))
sns.heatmap(heat, ax=ax, cmap=plotting.SEQUENTIAL, vmin=0, vmax=1, annot=heat.shape[1] <= 14,
            fmt=".2f", cbar_kws={"label": f"{correlation} correlation with physical distance [–]"})
ax.grid(False)  # the style's grid would cut through the cells
ax.set_xlabel("scenario (dataset / granularity) [–]")
ax.set_ylabel("metric, at its best representation [–]")
out.figure(fig, "study1_heatmap")
plt.show()

# %% tags=["nbval-check-output"]
ranked.round(3)

# %% [markdown]
# (dml-study2)=
# ## Study 2 — a learned meta-metric (genetic programming)
#
# Symbolic regression over the 12 classical metrics (each pair's values, at the representation
# that is best on average in Study 1): the expression that maximises the within-scenario
# correlation with physical distance on the **UJIIndoorLoc** floor scenarios, tested on the
# **unseen** TUT3 and UJI-LIB scenarios.
#
# *When the GP returns one metric.* The talk's question is whether *combining* metrics beats
# every single one. An evolved expression that uses a single metric (the bare terminal
# `cosine`, or a function of it) combines nothing, and a monotone function of one metric ranks
# pairs exactly as that metric does: "meta-metric vs the best single metric" would compare a
# metric with itself. We detect it from the expression (`MetaMetric.single_metric`) and then
# record both Study-2 correlation claims as *not comparable*, with that reason. Otherwise the
# meta-metric is judged against the best single metric of each unseen scenario by a paired
# bootstrap over pairs (resampled within each scenario), and "still not optimal" by a rule that
# can fail: the meta-metric must close **less than half** of the gap between the best single
# metric and the optimal correlation 1 (the interval of ρ_meta − (ρ_best + 1)/2 wholly below 0).
# The old rule ("best meta-metric correlation < 0.95") could not fail in practice and is gone.

# %%
feat_rep = ranked.representation.mode().iloc[0]
metrics = list(distances.METRICS)
min_rss = {d: next(s.min_rss for s in scs if s.dataset == d) for d in scenarios.DATASETS}


def features(sc, n_pairs, rng_seed):
    """Classical-metric features and physical distances of sampled pairs of one scenario."""
    i, j = distances.sample_pairs(len(sc), n_pairs, np.random.default_rng([rng_seed, len(sc)]))
    F = distances.pair_features(sc.rss, sc.rss, metrics, feat_rep, pairs_i=i, pairs_j=j,
                                min_rss=sc.min_rss)
    return F, sc.physical_distance(i, j)


train_scs = [s for s in scs if s.dataset == "ujiindoorloc" and s.granularity == "floor"]
per = max(50, cfg.gp["max_pairs"] // max(1, len(train_scs)))
parts = [features(s, per, seed) for s in train_scs]
F_tr = np.vstack([p[0] for p in parts])
y_tr = np.concatenate([p[1] for p in parts])
g_tr = np.concatenate([[s.name] * len(p[1]) for s, p in zip(train_scs, parts)])
mm = meta.fit_meta_metric(F_tr, y_tr, feature_names=metrics, fitness=correlation,
                          groups=g_tr, seed=seed, **cfg.gp)
out.json(mm.to_dict(), "meta_metric")
single_metric = mm.single_metric  # None unless the expression uses exactly one metric
display(Markdown(f"Learned meta-metric (features: the 12 metrics on the `{feat_rep}` "
                 f"representation):\n\n`{mm.expression}`" + (
                     f"\n\nIt uses **one** existing metric only (`{single_metric}`): no "
                     "combination, so the Study-2 correlation claims below are not comparable."
                     if single_metric else "")))

# %%
rows, unseen_pairs = [], []
for sc in scs:
    if sc.dataset == "ujiindoorloc" and sc.granularity != "floor":
        continue
    F, y = features(sc, cfg.max_pairs, seed + 1)
    single = {m: spearmanr(F[:, k], y).statistic if correlation == "spearman"
              else np.corrcoef(F[:, k], y)[0, 1] for k, m in enumerate(metrics)}
    best_single = max(single, key=single.get)
    rows.append({"scenario": sc.name, "dataset": sc.dataset,
                 "seen in training": sc.dataset == "ujiindoorloc",
                 "meta-metric": mm.correlation(F, y)[correlation],
                 "best single metric": single[best_single],
                 "best single metric name": best_single, "optimal": 1.0})
    if sc.dataset != "ujiindoorloc":  # the pairs behind the unseen-data intervals
        unseen_pairs.append((sc.name, mm.evaluate(F), F[:, metrics.index(best_single)], y))
gp_tab = out.table(pd.DataFrame(rows), "study2_generalisation")
gp_iv = {}
if single_metric is None:  # a real combination: paired bootstrap over pairs, per scenario
    _, gp_point, gp_boot = compare.bootstrap_correlations(
        np.column_stack([np.concatenate([u[1] for u in unseen_pairs]),
                         np.concatenate([u[2] for u in unseen_pairs])]),
        np.concatenate([u[3] for u in unseen_pairs]),
        groups=np.concatenate([[u[0]] * len(u[3]) for u in unseen_pairs]),
        kind=correlation, n_boot=n_boot, seed=seed)
    n_unseen = sum(len(u[3]) for u in unseen_pairs)
    gp_iv["vs best single"] = compare.contrast_interval(gp_point, gp_boot, (1.0, -1.0),
                                                        n_items=n_unseen, label="Δ")
    gp_iv["vs midpoint"] = compare.contrast_interval(gp_point, gp_boot, (1.0, -0.5), const=-0.5,
                                                     n_items=n_unseen, label="ρ − midpoint")
fig, ax = plotting.subplots(figsize=(9, 4))
x = np.arange(len(gp_tab))
ax.bar(x - 0.2, gp_tab["best single metric"], 0.4, label="best single metric")
ax.bar(x + 0.2, gp_tab["meta-metric"], 0.4, label="meta-metric")
ax.axhline(1, color="k", ls=":", label="optimal")
ax.set_xticks(x, gp_tab.scenario, rotation=60, ha="right", fontsize=7)
plotting.labelled(ax, "scenario [–]", f"{correlation} correlation [–]",
                  "meta-metric trained on UJIIndoorLoc floors")
ax.legend(fontsize=8)
out.figure(fig, "study2_generalisation")
plt.show()
gp_tab.round(3)

# %% [markdown]
# (dml-study3)=
# ## Study 3 — deep metric learning on continuous similarities
#
# An MLP embedding trained with the log-ratio loss (continuous supervision: the ratio of
# embedding distances should match the ratio of physical distances, over an anchor with its
# nearest neighbours in space and random others), against the same network trained with a
# triplet loss on near/far labels at two thresholds (in the data's units: Web-Mercator metres
# on UJIIndoorLoc, about 0.77 ground metres each). Trained on UJIIndoorLoc training,
# evaluated on pairs of the validation set (same correlation protocol as Study 1). Under `full`
# each network trains to a plateau: about 10 % of the training reference points are held out,
# the Spearman correlation on their pairs is watched after every epoch, the learning rate halves
# when it stalls and training stops when it no longer improves (capped at Kim et al.'s 30
# epochs; `ipsbook.training`); the table after the positioning section shows where each stopped.
#
# *The baseline.* The talk claims that DML improves on classical metrics, so the embedding is
# judged against the **best classical metric on these very pairs**: all 12 metrics at all 4
# representations are correlated on the validation pairs and the strongest one is the
# baseline (chosen on the test pairs themselves, which favours the baseline: a conservative
# choice for the claim). Euclidean on raw RSS, the baseline before the review, stays as an
# extra row, and Study 1's winner (chosen on the training scenarios) is shown when it differs.
# Each "Δ" is the paired difference of Spearman correlations with its 95 % bootstrap interval
# over the pairs (both correlations recomputed on each resample of the same pairs). Pairs that
# share a fingerprint are not independent, so these intervals are somewhat optimistic.

# %%
def heard_only(split):
    """Drop fingerprints with no AP heard (76 in UJIIndoorLoc training): no distance to them
    means anything, for any metric."""
    keep = representations.heard(split.rss).any(axis=1)
    return type(split)(*(None if a is None else np.asarray(a)[keep] for a in split))


uji_tr, uji_va = (heard_only(data.ujiindoorloc_arrays(s)) for s in ("train", "validation"))
tut_tr, tut_te = (heard_only(data.load_tut3(s)) for s in ("train", "test"))
rep = dict(kind=dml_representation, min_rss=min_rss["ujiindoorloc"])
Xtr = representations.represent(uji_tr.rss, **rep).astype(np.float32)
Xva = representations.represent(uji_va.rss, **rep).astype(np.float32)
h = scenarios.FLOOR_HEIGHT["ujiindoorloc"]
P3 = lambda a: np.column_stack([a.positions, a.floor * h])
tr_kw = dict(seed=seed, progress=True, **cfg.train)
# reference points (1 m cells per floor) go whole to one side of an early-stopping split
ref_points = lambda P: np.unique(np.round(P).astype(np.int64), axis=0, return_inverse=True)[1]
fits = {"log-ratio": train.train_embedding(Xtr, P3(uji_tr), loss="log_ratio",
                                           stop_groups=ref_points(P3(uji_tr)), **tr_kw)}
for t in (near_m_1, near_m_2):
    fits[f"triplet @ {t:g} m"] = train.train_embedding(
        Xtr, P3(uji_tr), loss="triplet", threshold_m=t, stop_groups=ref_points(P3(uji_tr)),
        **tr_kw)
models = {name: model for name, (model, _) in fits.items()}
vi, vj = distances.sample_pairs(len(Xva), cfg.max_pairs, seed)
phys = np.linalg.norm(P3(uji_va)[vi] - P3(uji_va)[vj], axis=1)
classical, classical_d = compare.pair_correlations(
    uji_va.rss, vi, vj, phys, metrics, representations.REPRESENTATIONS,
    min_rss=min_rss["ujiindoorloc"])
out.table(classical, "study3_classical_on_validation_pairs")
best_metric = ranked.metric.iloc[0]  # Study 1's winner, at its best representation
s1_best = (best_metric, best_rep[best_metric])
cl_best = (classical.metric.iloc[0], classical.representation.iloc[0])
BASE = f"best classical on these pairs: {cl_best[0]} ({cl_best[1]})"
columns = {BASE: classical_d[cl_best]}
if s1_best != cl_best:
    columns[f"Study 1's best: {s1_best[0]} ({s1_best[1]})"] = classical_d[s1_best]
columns["Euclidean on RSS (raw) [extra]"] = classical_d[("euclidean", "raw")]
for name, model in models.items():
    E = train.embed(model, Xva)
    columns[name] = np.linalg.norm(E[vi] - E[vj], axis=1)
dml_tab, dml_iv = compare.correlation_table(columns, phys, against=BASE, n_boot=n_boot,
                                            seed=seed)
corr = dict(zip(dml_tab.method, dml_tab.spearman))
dml_tab = out.table(dml_tab.rename(columns={"spearman": "spearman (UJI validation pairs)"}),
                    "study3_correlation")
dml_tab.round(3)

# %% [markdown]
# (dml-positioning)=
# ## Positioning table — kNN with each distance
#
# Distance-weighted kNN (k = 1, 3, 5) on the UJIIndoorLoc validation set and the Tampere test
# set: Euclidean on raw RSS, the best classical metric of Study 1, the meta-metric, and the
# log-ratio embedding (trained on each set's training file). A subsample of queries under
# `quick`; reference: scikit-learn's `KNeighborsRegressor` on raw RSS (missing → −110 dBm).
#
# *Ranks* are tie-aware (`compare.tie_aware_ranks`): for every two distances, the 95 %
# bootstrap interval over the queries of the mean paired difference of their errors (the same
# queries for both; per-query differences within 1e-6 m count as equal); a method's rank is 1 +
# the number of methods whose interval shows them better. Methods the data cannot tell apart
# share a rank.
#
# *The field's metrics* (`ipsbook.metrics`) stand beside the paper's mean 2-D error: the median,
# p75 and CE95 (the 75th and 95th percentiles of the error, ISO/IEC 18305's names), the floor
# and building hit rates, and the EvAAL/IPIN score of the UJIIndoorLoc competitions (mean of
# the 2-D error + 4 m per floor missed + 50 m per building missed; Tampere has one building).
#
# *Units.* UJIIndoorLoc's positions are Web-Mercator (EPSG:3857) coordinates: its "metres"
# are 1/cos(latitude) ground metres, the factor computed from the latitude of the data's mean
# northing. Errors are judged in the data's units, as the papers report them; the column
# "mean [ground m]" divides by the factor. Tampere's coordinates are local metres.

# %%
merc = error_metrics.mercator_scale(uji_tr.positions[:, 1])
lat = error_metrics.mercator_latitude(float(uji_tr.positions[:, 1].mean()))
units = {"UJIIndoorLoc validation": (f"Web-Mercator m (÷{merc:.3f} = ground m)", merc),
         "Tampere test": ("m (local frame)", 1.0)}
display(Markdown(f"UJIIndoorLoc: mean northing at latitude {lat:.2f}°, so one data \"metre\" "
                 f"is {1 / merc:.3f} ground metres (factor 1/cos(latitude) = {merc:.3f})."))
K_CLAIM = 3  # the k of the claims and of the headline table
tables, rank_tabs, rank_iv = [], [], {}
fits["log-ratio (Tampere)"] = train.train_embedding(
    representations.represent(tut_tr.rss, kind=dml_representation,
                              min_rss=min_rss["tut3"]).astype(np.float32),
    tut_tr.coords, loss="log_ratio", stop_groups=ref_points(tut_tr.coords), **tr_kw)
tut_model = fits["log-ratio (Tampere)"][0]
for name, tr, te, ds, model in (("UJIIndoorLoc validation", uji_tr, uji_va, "ujiindoorloc",
                                 models["log-ratio"]),
                                ("Tampere test", tut_tr, tut_te, "tut3", tut_model)):
    pos_tr = tr.positions if hasattr(tr, "positions") else tr.coords[:, :2]
    pos_te = te.positions if hasattr(te, "positions") else te.coords[:, :2]
    b_tr = getattr(tr, "building", None)
    b_te = getattr(te, "building", None)
    q = np.arange(len(te.rss))
    if cfg.knn_queries and cfg.knn_queries < len(q):
        q = np.sort(np.random.default_rng([seed, 7]).choice(len(q), cfg.knn_queries, False))
    enc = dict(kind=dml_representation, min_rss=min_rss[ds])
    methods = {
        "Euclidean (raw)": dict(metric="euclidean", representation="raw", min_rss=min_rss[ds]),
        f"best classical ({best_metric}, {best_rep[best_metric]})":
            dict(metric=best_metric, representation=best_rep[best_metric], min_rss=min_rss[ds]),
        "meta-metric": dict(distance_fn=positioning.meta_distance_fn(
            mm, metrics, feat_rep, min_rss=min_rss[ds])),
        "DML log-ratio embedding": dict(distance_fn=train.embedding_distance_fn(
            model, transform=lambda r, enc=enc: representations.represent(
                r, **enc).astype(np.float32))),
    }
    test = (te.rss[q], pos_te[q], te.floor[q], None if b_te is None else b_te[q])
    t, errs = positioning.knn_table((tr.rss, pos_tr, tr.floor, b_tr), test, methods,
                                    return_errors=True)
    ref = positioning.sklearn_reference((tr.rss, pos_tr), test, ks=(3, 4, 5))
    tables.append(pd.concat([t, ref], ignore_index=True).assign(test_set=name))
    r, rank_iv[name] = compare.tie_aware_ranks({m: errs[(m, K_CLAIM)]["err"] for m in methods},
                                               n_boot=n_boot, seed=seed)
    rank_tabs.append(r.assign(test_set=name))
knn = out.table(pd.concat(tables, ignore_index=True), "positioning_table")
knn_ranks = out.table(pd.concat(rank_tabs, ignore_index=True), "positioning_ranks")
headline = out.table(positioning.headline_table(knn, knn_ranks, K_CLAIM, units),
                     "positioning_headline")
display(Markdown("Mean 2-D error for every k (data units, see the unit column below):"))
display(knn.pivot_table(index=["test_set", "method"], columns="k", values="mean_m").round(2))

# %% tags=["nbval-check-output"]
headline.round(2)

# %% [markdown]
# (dml-training)=
# ### How long each embedding trained
#
# Epochs run, the best epoch (its weights are the ones used above) and why training ended:
# `plateau` (no improvement for the rule's patience), `cap` (the profile's epochs ran out;
# *still improving* flags a network whose best epoch was among the last ones) or, without early
# stopping (`smoke`, `quick`, `paper`), the fixed epoch count.

# %%
out.training({name: hist.stopping or {"epochs_run": len(hist.loss), "cap": len(hist.loss),
                                      "stopped": "fixed epochs"}
              for name, (_, hist) in fits.items()})

# %% [markdown]
# (dml-claims)=
# ## Claims — the talk's findings against our numbers
#
# The talk reports findings, not numbers; each is tested on our results with the rule fixed in
# the code below and stated in its protocol. "A is better than B" is decided by the 95 %
# interval of the paired difference (bootstrap over the same pairs or the same queries):
# reproduced when the whole interval is on the claimed side, *unresolved* (not reproduced) when
# it contains 0. Study 2's correlation claims are *not comparable* when the GP returned a
# single existing metric (see Study 2).

# %%
C = out.claims
TALK = "talk (UCL, 2022), slide"
study1_data = (f"Study 1 scenarios: {len(scs)} (UJIIndoorLoc training, TUT3 train+test, "
               f"UJI-LIB month 01) at granularities {', '.join(cfg.granularities)}; "
               f"{cfg.max_pairs} sampled pairs per scenario")
spread_m = ranked[correlation].max() - ranked[correlation].min()
best_row = ranked.iloc[0]
C.relation("Study 1", f"spread of mean {correlation} across metrics, and of the best metric "
           "across scenarios", "behaviour is heterogeneous across metrics and scenarios "
           "(both spreads ≥ 0.1)", spread_m >= 0.1 and best_row["max"] - best_row["min"] >= 0.1,
           f"across metrics {spread_m:.2f}; best metric ({best_row.metric}) across scenarios "
           f"{best_row['max'] - best_row['min']:.2f}", why_not="a spread is below 0.1",
           anchor="dml-study1", protocol={
               "source": f"{TALK} 'classical metrics': 'Metrics have rather heterogeneous "
                         "behaviour' and 'Variability across different scenarios'",
               "data": study1_data,
               "metric": f"{correlation} correlation of fingerprint distance with physical "
                         "distance [–], each metric at its best representation",
               "baseline": "none (a spread)",
               "rule": "max − min of the metrics' mean correlations ≥ 0.1, and max − min of "
                       "the best metric over scenarios ≥ 0.1 (our threshold for 'heterogeneous')"})
cos_rank = int(ranked.set_index("metric").loc["cosine", "rank"])
C.relation("Study 1", f"rank of cosine among {len(ranked)} metrics (mean {correlation})",
           "cosine is among the best (top 3)", cos_rank <= 3, f"rank {cos_rank}",
           why_not="cosine is not in the top 3", anchor="dml-study1", protocol={
               "source": f"{TALK} 'classical metrics': 'some outperforming the others (e.g., "
                         "cosine similarity)'",
               "data": study1_data,
               "metric": f"mean {correlation} over scenarios [–], each metric at its best "
                         "representation",
               "baseline": f"the other {len(ranked) - 1} metrics",
               "rule": "cosine ranked 1, 2 or 3 by mean correlation (ranks by point value)"})
C.relation("Study 1", f"best mean {correlation} of any metric", "all metrics are far from "
           "optimal (best mean correlation < 0.8, optimal = 1)", best_row[correlation] < 0.8,
           f"{best_row.metric} ({best_row.representation}): {best_row[correlation]:.3f}",
           why_not="a metric comes within 0.2 of optimal", anchor="dml-study1", protocol={
               "source": f"{TALK} 'classical metrics': 'Performance far from the optimal case'",
               "data": study1_data,
               "metric": f"mean {correlation} over scenarios [–]",
               "baseline": "the optimal correlation, 1",
               "rule": "the best metric's mean correlation < 0.8 (our threshold for 'far')"})

unseen = gp_tab[~gp_tab["seen in training"]]
gp_profile = ("the GP search (population, generations, depth, training pairs) is smaller "
              "than the paper's under smoke/quick, so the evolved meta-metric is weaker")
gp_proto = {
    "data": f"GP trained on UJIIndoorLoc floor scenarios ({len(y_tr)} pairs); tested on "
            f"{len(unseen)} unseen TUT3 and UJI-LIB scenarios, {cfg.max_pairs} pairs each",
    "metric": f"{correlation} correlation with physical distance [–], mean over the unseen "
              "scenarios",
}
meta_vs = (f"meta {unseen['meta-metric'].mean():.3f} vs best single "
           f"{unseen['best single metric'].mean():.3f}")
single_reason = (f"the GP returned `{mm.expression}`, an expression of one existing metric "
                 f"({single_metric}) only: it combines no metrics, so 'meta-metric vs the best "
                 "single metric' would compare that metric with (a function of) itself")
q_gen = (f"mean {correlation} on unseen datasets (TUT3, UJI-LIB): meta-metric vs the best "
         "single metric per scenario")
s_gen = "the meta-metric generalises to unseen datasets and beats every single metric"
p_gen = {**gp_proto, "source": f"{TALK} 'meta-metric': 'Good generalisation capabilities on "
         "unseen datasets' and 'Better results'",
         "baseline": "per unseen scenario, the best of the 12 single metrics on its test pairs "
                     "(chosen on those pairs: favours the baseline)"}
if single_metric:
    C.not_comparable("Study 2", q_gen, s_gen, meta_vs, single_reason, anchor="dml-study2",
                     profile_sensitive=gp_profile,
                     protocol={**p_gen, "rule": "paired bootstrap interval of ρ_meta − ρ_best "
                               "wholly above 0; not applied: no combination was evolved"})
else:
    C.difference("Study 2", q_gen, s_gen, gp_iv["vs best single"], better="higher",
                 anchor="dml-study2", profile_sensitive=gp_profile, protocol=p_gen)
q_opt = (f"mean {correlation} on unseen scenarios: meta-metric vs the midpoint between the "
         "best single metric and optimal")
s_opt = ("better, but still not optimal: the meta-metric closes less than half of the gap "
         "between the best single metric and the optimal correlation 1")
p_opt = {**gp_proto, "source": f"{TALK} 'meta-metric': 'Better results, but still not optimal'",
         "baseline": "(ρ_best single + 1) / 2 per unseen scenario"}
if single_metric:
    C.not_comparable("Study 2", q_opt, s_opt, f"max meta {unseen['meta-metric'].max():.3f}",
                     single_reason + "; how far a single metric is from optimal is Study 1's "
                     "claim", anchor="dml-study2", profile_sensitive=gp_profile,
                     protocol={**p_opt, "rule": "paired bootstrap interval of ρ_meta − (ρ_best "
                               "+ 1)/2 wholly below 0; not applied: no combination was evolved"})
else:
    C.difference("Study 2", q_opt, s_opt, gp_iv["vs midpoint"], better="lower",
                 anchor="dml-study2", profile_sensitive=gp_profile, protocol=p_opt)

knn_k = knn_ranks.set_index(["test_set", "method"])
meta_rank = {ts: int(knn_k.loc[(ts, "meta-metric"), "rank"]) for ts in units}


def rank_text(ts):
    row = knn_k.loc[(ts, "meta-metric")]
    tied = f", tied with {row.tied_with}" if row.tied_with else ""
    better = f"; better: {row.better_than_it}" if row.better_than_it else ""
    return f"{ts}: rank {meta_rank[ts]}{tied}{better}"


C.relation("Study 2", "rank of the meta-metric's kNN mean error (k = 3) among the 4 distances",
           "correlation maximisation is a good proxy for positioning (meta-metric kNN among the "
           "best two)", all(r <= 2 for r in meta_rank.values()),
           "; ".join(rank_text(ts) for ts in units) + (
               f" (the meta-metric is `{mm.expression}`)" if single_metric else ""),
           why_not="two or more distances have a kNN error significantly lower than the "
                   "meta-metric's", anchor="dml-positioning",
           profile_sensitive=("the GP search and its training pairs are smaller, and kNN runs "
                              "on a subset of queries (knn_queries), under smoke/quick than "
                              "under paper; a larger query set narrows the intervals"),
           protocol={
               "source": f"{TALK} 'meta-metric': 'Correlation maximisation is a good proxy task "
                         "for positioning: the meta-metric achieves top performance'",
               "data": f"kNN, k = {K_CLAIM}, distance-weighted; UJIIndoorLoc training → "
                       f"validation and Tampere train → test, {cfg.knn_queries or 'all'} "
                       "queries per test set",
               "metric": "mean 2-D error (UJIIndoorLoc: Web-Mercator m, "
                         f"÷{merc:.3f} = ground m; Tampere: m)",
               "baseline": "Euclidean (raw), Study 1's best classical metric, the DML "
                           "embedding",
               "rule": "tie-aware rank ≤ 2 on both test sets: rank = 1 + the number of "
                       "distances whose 95 % paired-bootstrap interval (over queries) of the "
                       "error difference lies wholly below 0; per-query differences within "
                       "1e-6 m count as 0",
               "interval": " | ".join(f"{ts}: meta − {b}: {iv.describe('m')}"
                                      for ts, ivs in rank_iv.items()
                                      for (a_, b), iv in ivs.items() if a_ == "meta-metric")})

triplets = [m for m in corr if m.startswith("triplet")]
best_triplet = max(triplets, key=corr.get)
dml_profile = ("the embeddings train for fewer epochs, with smaller networks and fewer sampled "
               "neighbours, under smoke/quick than under paper; undertrained models can rank "
               "either way")
dml_data = (f"trained on UJIIndoorLoc training ({len(Xtr)} fingerprints); {len(phys)} sampled "
            "pairs of UJIIndoorLoc validation; physical distance 3-D (Web-Mercator x, y; "
            f"floor × {h:g} m)")
C.difference("Study 3", "spearman of embedding vs physical distance, UJI validation: log-ratio "
             "vs the better triplet (binarised) embedding", "continuous supervision (log-ratio) "
             "captures spatial relationships better than binarised near/far labels",
             dml_iv[("log-ratio", best_triplet)], better="higher", anchor="dml-study3",
             profile_sensitive=dml_profile, protocol={
                 "source": f"{TALK} 'DML on continuous similarities': 'Defining thresholds for "
                           "binarization is domain and application dependent and rather "
                           "ineffective'",
                 "data": dml_data,
                 "metric": "Spearman correlation of embedding distance with physical "
                           "distance [–]",
                 "baseline": f"the better of the triplet embeddings ({best_triplet}: "
                             f"{corr[best_triplet]:.3f}; log-ratio {corr['log-ratio']:.3f})"})
C.difference("Study 3", "spearman of the log-ratio embedding vs the best classical metric on "
             "the same validation pairs", "DML improves the estimation of spatial "
             "relationships over classical metrics", dml_iv[("log-ratio", BASE)],
             better="higher", anchor="dml-study3", profile_sensitive=(
                 "the log-ratio embedding trains for fewer epochs, with a smaller network, "
                 "under smoke/quick than under paper; an undertrained embedding can fall below "
                 "the best classical metric"), protocol={
                 "source": f"{TALK} title and research question: 'Improving the Estimation of "
                           "Fingerprint Spatial Relationships via Deep Metric Learning'",
                 "data": dml_data,
                 "metric": "Spearman correlation with physical distance [–]",
                 "baseline": f"{BASE} ({corr[BASE]:.3f}; log-ratio {corr['log-ratio']:.3f}; "
                             "Euclidean on raw RSS "
                             f"{corr['Euclidean on RSS (raw) [extra]']:.3f}, shown as an extra "
                             "row)"})

# %% [markdown]
# ## Scorecard for this chapter

# %% tags=["nbval-check-output"]
print(out.claims.verdicts())

# %% tags=["nbval-check-output"]
scorecard = out.finish()
scorecard[["artefact", "quantity", "paper_value", "ours", "status"]]
