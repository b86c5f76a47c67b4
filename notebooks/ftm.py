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
# (ftm)=
# # Locate access points from FTM ranges: classical MDS vs Wall Remover and IAG
#
# **Paper B** — J. Henry, N. Montavont, Y. Busnel, R. Ludinard, I. Hrasko, *A Geometric
# Approach to Noisy EDM Resolution in FTM Measurements*, Computers 10(3):33, 2021
# ({cite}`henry2021geometric`): classical MDS vs a geometric Wall Remover and an Iterative
# Algebro-Geometric (IAG) EDM resolver.
# Wi-Fi access points (APs) range to each other with Fine Timing Measurement (FTM, IEEE
# 802.11mc); from the matrix of ranges we want their positions.
#
# **What this chapter regenerates.** The paper's illustrations from code — Fig. 1 (asymmetry
# from an obstacle), Figs. 3/4 (the triangle test detecting a wall), Figs. 5/6 (IAG iterations
# and the clusters of computed positions) — and the Sect. 3 eigenvalue diagnostics of classical
# MDS; then an evaluation of every method against noise, walls, network size and missing ranges,
# and on real FTM ranges.
#
# **What differs from the paper, plainly.**
# * Our copy of the paper describes the methods but not its experiments, and the original's
#   evaluation could not be retrieved here. **The evaluation below is ours**: random office-like
#   floor plans (axis-aligned interior walls), APs at random positions, and the RMSE of the AP
#   positions after the best rigid alignment (rotation, translation, reflection; no scaling).
# * The algorithm boxes and equations of Algorithms 1 and 2 were lost in extraction; our reading
#   of each, with every choice the text leaves open, is in the docstrings of
#   `ipsbook.methods.edm.wall_remover` and `ipsbook.methods.edm.iag`.
# * Real data: no public set has AP↔AP FTM ranges. We use real **phone↔AP** Android RTT ranges
#   (rtt-feng {cite}`feng2024rssrtt`: three rooms with line-of-sight labels; rtt-yu
#   {cite}`yu2024rtt`: a car park and a library) twice:
#   to **fit the simulator's error model** (LoS/NLoS bias, spread, dilation, missing share), and
#   to run the methods on a **real network** whose nodes are the APs plus the surveyed phone
#   positions (phone↔phone ranges missing; AP↔AP distances known, as the paper's network has
#   nodes of known position). Each figure says whether it comes from real ranges or from the
#   fitted simulator.
# * **Verdicts by intervals.** Every "A is better than B" is decided by the 95 % interval of
#   the paired difference A − B over the same random floor plans (or Monte-Carlo layouts, or
#   phone positions), never by comparing two means; "at every sweep point" claims count the
#   points resolved either way. Each claim states its protocol (source, data, metric,
#   baseline, rule, interval) in the scorecard.
#
# **What changed in this revision, and why.**
# * *The Wall Remover never acted in our sweeps* (0–0.25 contractions per plan, none with
#   strong walls), so its claims tested a no-op. A **new regime matches its premise** (one
#   interior range stretched ×1.3 by an obstacle, the others in line of sight, LoS noise
#   swept from low to high), contractions are **counted per sweep point as true and false
#   positives** against the simulator's ground truth, and a Wall Remover claim is *not
#   comparable* wherever it contracted nothing.
# * *Fig. 1* was judged on a share of squared error we had invented (> 50 % off the stretched
#   pair); the paper's relation is that centring spreads the error over the other APs, so it
#   is now judged **against weighted SMACOF** (the other APs' error, MDS vs wSMACOF, over many
#   layouts).
# * *IAG's chained variants drifted* ('combinations' 2.75 m, 'sequential' 8.16 m vs 'mean'
#   0.41 m): each iteration was aligned onto the *latest* one, a chain of hundreds of
#   alignments along which errors accumulate. They are now re-anchored onto the first frame
#   (section {ref}`ftm-iag-variants` shows the experiment).
# * *Verdicts by margins* ("WR+IAG has the lower mean RMSE at every wall count", "the variance
#   of k falls by ≥ 10 %") are replaced by intervals of paired differences over the same
#   plans; the experiment now keeps every plan's errors for that. The Wall Remover's claims
#   are judged where it acts: the premise regime, and among the fitted sweeps the network-size
#   sweep (from 50 APs on a range is tested by enough quadruples) and the wall sweeps' points
#   with any contraction.
#
# **What you need.** The two RTT sets (`make data` checks them); the rest is simulated.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | paper: floor plans per point and sweep sizes (table below)
seed = 0  # seeds floor plans, AP positions and ranging noise
output_dir = "."  # set by the runner: tables, figures and claims are written here
n_aps = 20  # APs in the base network (at least 4)
n_walls = 10  # interior walls in the base floor plan (at least 0)
width_m = 50.0  # side of the square floor [m] (positive)
p_missing = 0.1  # share of AP pairs that fail to range, on top of range and wall limits (0 to 1)
error_model = "fitted"  # "fitted" (from the real RTT sets) or "default" (1 m LoS noise)
wr_learning_rate = 0.05  # Wall Remover contraction step η (0 to 1, exclusive)
wr_tolerance_sigma = 3.0  # Wall Remover acceptable stretch ε, in LoS noise σ (at least 0)
iag_variant = "mean"  # IAG frame alignment: "sequential", "combinations" or "mean"
n_plans = 0  # random floor plans per sweep point; 0 takes the profile value (at least 0)
planted_stretch = 1.3  # Wall Remover premise: the one interior range is stretched ×this (> 1)

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

import ipsbook
from ipsbook import data, plotting, profiles, stats
from ipsbook.book.outputs import RunOutput
from ipsbook.methods.edm import experiment, plots, report
from ipsbook.radio import FTMModel, fit_table, to_model

ipsbook.setup(seed)
pd.set_option("display.max_colwidth", None)
if error_model not in ("fitted", "default"):
    raise ValueError(f"error_model={error_model!r} is not known; allowed: 'fitted', 'default'")
if not 0 <= p_missing <= 1:
    raise ValueError(f"p_missing={p_missing!r} must be between 0 and 1")
if not planted_stretch > 1:
    raise ValueError(f"planted_stretch={planted_stretch!r} must be > 1 (a stretch)")
cfg = profiles.resolve("ftm", profile, n_plans=n_plans or None)
params = dict(seed=seed, n_aps=n_aps, n_walls=n_walls, width_m=width_m, p_missing=p_missing,
              error_model=error_model, wr_learning_rate=wr_learning_rate,
              wr_tolerance_sigma=wr_tolerance_sigma, iag_variant=iag_variant, n_plans=cfg.n_plans,
              planted_stretch=planted_stretch)
out = RunOutput(output_dir, chapter="ftm", paper="B", cfg=cfg, params=params)
iag_kw = dict(variant=iag_variant, seed=seed)
plotting.use_style()


def show(fig, name):
    """Save a figure as figures/<name>.png and .svg, then show it."""
    out.figure(fig, name)
    plt.show()


display(Markdown(f"**Profile: `{profile}`** — {cfg.n_plans} random floor plans per sweep point."))
profiles.table("ftm")

# %% [markdown]
# (ftm-fit)=
# ## The error model, fitted to real FTM ranges (real data)
#
# Error = measured − true range, per line-of-sight class (rtt-feng labels each reference point;
# rtt-yu has no labels). `k` and `b` are a robust (Theil–Sen) fit of measured ≈ k · true + b.
# The simulator's model maps the LoS spread and bias to its LoS noise, and the NLoS excess
# slope and intercept to the dilation and bias of **one wall** (our assumption: an NLoS link in
# these rooms crosses about one wall).

# %%
feng = pd.concat([data.load_rtt_feng(s, "all") for s in ("lecture_theatre", "office", "corridor")],
                 ignore_index=True)
yu = {s: data.load_rtt_yu(s, fill_missing=True) for s in ("CarPark", "Library")}
fits = experiment.fit_models(feng, yu)
fit_tab = out.table(fit_table(fits), "fit_error_model")
model = to_model(fits["rtt-feng (3 rooms)"]) if error_model == "fitted" else FTMModel()
base = experiment.NetworkConfig(width_m=width_m, height_m=width_m, n_aps=n_aps, n_walls=n_walls,
                                model=model.replace(p_missing=p_missing))
# ε = a few σ of the LoS ranging noise: a stretch within the noise is not evidence of a wall.
wr_kw = dict(learning_rate=wr_learning_rate, tolerance=wr_tolerance_sigma * base.model.sigma_los,
             seed=seed)
display(Markdown(f"Simulator model ({error_model}): `{base.model}`; Wall Remover ε = "
                 f"{wr_kw['tolerance']:.2f} m"))
fit_tab

# %% [markdown]
# The fit against the data: the ECDF of real range errors per class beside ranges simulated by
# the fitted model for links with 0 walls (LoS) and 1 wall (NLoS) at the same true distances.

# %% tags=["hide-input"]
show(plots.fit_ecdf(feng, model, seed), "fit_ecdf")

# %% [markdown]
# (ftm-fig1)=
# ## Fig. 1 — asymmetry from an obstacle, and what centring does with it (simulated)
#
# Eight APs; a wall close to AP 0 stretches the ranges AP 0 measures through it (the ranges
# the others measure to AP 0 do not cross it near their end). Left: `d_ij − d_ji`. Right: the
# per-AP error on the exact matrix with **one** range stretched by 40 %, for classical MDS and
# for weighted SMACOF (stress, each pair weight 1): the double centring `B = −½ J D² J` spreads
# that one pair's error over every AP, while the stress keeps more of it on the pair.
#
# The paper's relation (Sect. 3: centring "dilute[s] the noise of one pair into the
# measurements reported by other pairs") is a comparison, so it is judged against the weighted
# method: the RMS error on the six APs *other* than the stretched pair, MDS vs weighted SMACOF,
# over `10 × n_plans` random layouts (8 APs in a 20 m square, one random pair ×1.4, all other
# ranges exact; the whole network aligned onto the truth before the errors are taken). Until
# this revision the claim asked for more than half of MDS's squared error off the pair — a
# threshold of ours, not the paper's, and one that the geometry does not support (the two ends
# of the stretched pair carry most of it in MDS too).

# %% tags=["hide-input"]
show(plots.fig1_asymmetry(experiment.fig1_example(seed)), "fig1_asymmetry")

# %%
fig1 = out.table(experiment.fig1_spread(10 * cfg.n_plans, seed), "fig1_monte_carlo")
fig1_iv = stats.paired_difference(fig1.wsmacof_other_m, fig1.mds_other_m, "monte-carlo")
display(Markdown(report.fig1_text(fig1, fig1_iv)))

# %% [markdown]
# (ftm-eigen)=
# ## Sect. 3 — eigenvalues of the centred matrix under noise (simulated)
#
# An exact 2-D EDM gives two positive eigenvalues and zeros; noise and dilation create
# negative eigenvalues, "a sign that the object is not Euclidean or that noise is large".

# %%
eig, spectra = experiment.eigen_diagnostics(base, (0.0, 0.5, 1.0, 2.0, 4.0), seed)
eig_tab = out.table(eig, "eigen_diagnostics")

# %% tags=["hide-input"]
show(plots.eigen_spectrum(spectra, f"classical MDS spectrum, {n_aps} APs, {n_walls} walls"),
     "eigen_spectrum")
eig_tab

# %% [markdown]
# (ftm-fig3)=
# ## Figs. 3/4 — the triangle test detects a stretched range (simulated)
#
# Triangle a, b, c with a fourth AP l inside; the range l–c is stretched by a wall (×1.3). Each
# placement of l uses two of its ranges; the range it leaves out is predicted and compared with
# the measurement. One quadruple does not single out the stretched range — the placements that
# use it are distorted too, so several segments can show a stretch — which is why the Wall
# Remover counts, over *every* quadruple a range takes part in, how often it is flagged, and
# contracts the range flagged most consistently (see the next figure).

# %%
tt = experiment.triangle_example(wr_kw["tolerance"])

# %% tags=["hide-input"]
show(plots.triangle_test(tt), "fig3_triangle_test")
out.table(report.triangle_table(tt), "fig3_triangle_test")

# %% [markdown]
# The whole Wall Remover on two networks: the base network with walls (left) and a network of
# the Wall Remover's premise (middle: no walls, one interior range stretched
# ×`planted_stretch`, dashed, at the lowest LoS noise of the profile; the first of the sweep's
# plans in which it contracted anything, so that the figure shows it at work — in the table
# further down it acts in far from every plan). Right: the dilation factor
# `k = measured / true` of the premise network before and after. Red: ranges contracted.

# %%
sigma0 = min(cfg.sigma_los)
wr_base, wr_premise, k_before, k_after = experiment.wall_remover_examples(
    base, cfg.n_plans, seed, sigma0, wr_kw=wr_kw, wr_tolerance_sigma=wr_tolerance_sigma,
    planted_stretch=planted_stretch)

# %% tags=["hide-input"]
show(plots.wall_remover((wr_base, wr_premise), k_before, k_after), "fig4_wall_remover")
if not wr_premise.result.contractions:
    display(Markdown(f"(In none of the {cfg.n_plans} premise plans at σ = {sigma0:g} m did the "
                     "Wall Remover contract anything; the last one is shown.)"))

# %% [markdown]
# (ftm-fig5)=
# ## Figs. 5/6 — IAG iterations and the clusters of computed positions (simulated)
#
# Each iteration places a sub-matrix from a pivot pair, then is rotated and translated into the
# common frame; every AP collects a cluster of positions, whose centre is the estimate. A
# cluster more than two standard deviations wider than the mean radius marks a poor anchor.

# %%
X6, res6 = experiment.iag_example(iag_kw, seed)

# %% tags=["hide-input"]
show(plots.iag_clusters(X6, res6), "fig5_iag_clusters")

# %% [markdown]
# (ftm-iag-variants)=
# ### IAG's three alignment variants, and why the chained ones drifted (fitted simulator)
#
# The paper names three ways to bring an iteration into the common frame — "compute
# iteratively" (`sequential`: eq. 22 on one shared pair), "all possible combinations"
# (`combinations`: eq. 22 on every shared pair, averaged; "more computationally intensive, but
# provides a higher precision") and "the mean of the positions determined for a point"
# (`mean`: a least-squares fit onto the cluster centres so far). It aligns "the next matrix"
# onto "the previous matrix" without saying which previous one. Our first reading took the
# *latest* aligned iteration, and the chained variants came out far worse than `mean`
# ('combinations' 2.75 m, 'sequential' 8.16 m against 0.41 m in an earlier check) although
# the paper calls 'combinations' the most precise.
#
# **Why.** Aligning onto the latest iteration makes a chain as long as the number of
# iterations (hundreds of alignments for 20 APs: `max_hops` in the table), and each alignment
# inherits the error of its target:
# the experiment below measures, for every aligned iteration, its error in the first
# iteration's frame against its number of alignment *hops* from that frame. With the latest
# target the error grows steadily with the hops (a random walk of rotation and translation
# errors, plus each gross error passed down the chain); nothing in the chain re-anchors it.
# The algebra was not at fault (all variants recover exact configurations to rounding); the
# choice of target was. **Fix:** re-anchor — align onto the previous iteration with the fewest
# hops from the first frame (almost always the first iteration itself), `chain_target=
# "reference"`, now the default. The table compares both targets on the base network.

# %%
iag_runs, iag_its = experiment.iag_variant_study(base, cfg.n_plans, seed)
iag_tab = out.table(report.iag_variants(iag_runs), "iag_variants")
bins = out.table(experiment.hop_bins(iag_its), "iag_error_by_hops")

# %% tags=["hide-input"]
show(plots.iag_drift(bins, f"IAG alignment drift, {n_aps} APs, {n_walls} walls, "
                           f"{cfg.n_plans} plans"), "iag_drift")
display(Markdown(report.iag_variants_text(iag_tab, bins, cfg.n_plans)))
iag_tab.round(2)

# %% [markdown]
# (ftm-sweeps)=
# ## Position error vs noise, walls, network size and missing ranges (fitted simulator)
#
# Each point: the mean RMSE over the same random floor plans (common random numbers), with a
# 95 % bootstrap band; every other variable stays at the base network above. TRI trilaterates
# from 4 APs of known position (the others' positions are unknown). The sixth panel is the
# Wall Remover's premise (new in this revision): no walls, one interior range stretched
# ×`planted_stretch`, LoS noise from low to high. The third repeats the wall sweep with strong
# walls (each ×1.2 and +0.5 m, our choice): the fitted NLoS excess is small (see the fit
# table), so its walls barely stand out from the noise, while paper B's premise is a wall that
# dilates a range well beyond it. Verdicts between methods come from the paired differences
# over the plans (section {ref}`ftm-claims`), not from these bands.

# %%
values = {name: tuple(cfg[name]) for name in experiment.SWEEPS}
allres = experiment.chapter_sweeps(base, values, cfg.n_plans, seed, wr_kw=wr_kw, iag_kw=iag_kw,
                                   wr_tolerance_sigma=wr_tolerance_sigma,
                                   planted_stretch=planted_stretch)
summary = out.table(experiment.summarise(allres, seed=seed), "sweeps_rmse")

# %% tags=["hide-input"]
show(plots.sweeps_rmse(summary, plots.sweep_labels(planted_stretch)), "sweeps_rmse")

# %% tags=["nbval-check-output", "hide-input"]
headline = summary[(summary.sweep == "n_walls") & (summary.value == n_walls)] if (
    n_walls in tuple(cfg.n_walls)) else summary[summary.sweep == "n_walls"]
out.table(headline, "headline_rmse")
headline[["value", "method", "rmse_m", "ci_low_m", "ci_high_m", "failed"]].round(3)

# %% [markdown]
# (ftm-dilation)=
# ### What the Wall Remover did: contractions, true and false positives (fitted simulator)
#
# Per sweep point, over its plans: plans in which the Wall Remover contracted anything, its
# contractions (a range can be contracted several times, by at most η each), how many of them
# hit a range that the simulator really stretched (**tp**: a wall on its path or the planted
# stretch) or one it did not (**fp**), the variance of `k = measured / true` and the mean
# excess of the really stretched ranges over the line-of-sight model before and after.
# A Wall Remover claim is judged only at the points where it acted (`plans_acted` > 0).

# %% tags=["nbval-check-output"]
wr_tab = out.table(experiment.wr_counts(allres), "wall_remover_counts")
wr_tab[["sweep", "value", "plans", "plans_acted", "contractions", "tp", "fp", "k_var_before",
        "k_var_after", "stretch_before_m", "stretch_after_m"]].round(4)

# %% tags=["hide-input"]
display(Markdown(report.wall_remover_text(allres)))

# %% [markdown]
# (ftm-real)=
# ## The methods on real FTM ranges (real data)
#
# Nodes: the APs and the surveyed phone positions of each scene (rtt-yu: a subsample of the
# walked positions); phone↔AP ranges are the smallest of each point's scans (paper B keeps the
# best range of a burst); AP↔AP distances are known; phone↔phone ranges are missing. RMSE over
# the phone positions after aligning the whole network; TRI trilaterates each phone from the APs.
# A network is one realisation, so the claims below compare the methods phone by phone: the
# paired differences of squared errors, with a bootstrap interval over the phone positions.

# %%
scenes = {**{f"rtt-feng {s}": g for s, g in feng.groupby("scene")},
          **{f"rtt-yu {s}": g for s, g in yu.items()}}
nets = {k: data.rtt_network(g, reduce="min", max_points=cfg.real_max_points or None)
        for k, g in scenes.items()}
real_tab, real_err, real_contr = experiment.real_study(nets, seed=seed, wr_kw=wr_kw,
                                                       iag_kw=iag_kw)
real = out.table(real_tab, "real_networks")
display(Markdown("Wall Remover contractions per real network: "
                 + ", ".join(f"{k} {v}" for k, v in real_contr.items()) + "."))
real.pivot(index="scene", columns="method", values="phone RMSE [m]").round(2)

# %% [markdown]
# (ftm-claims)=
# ## Claims — the paper's statements against our numbers
#
# The paper states findings, not numbers, so each claim is a comparison or a relation tested
# on our results. "A is better than B" is decided by the 95 % interval of the paired
# difference A − B (Student t over the random floor plans or layouts; bootstrap over the
# phone positions of a real network): reproduced only when the whole interval lies on the
# claimed side, *unresolved* (not reproduced) when it contains 0. A claim made "at every sweep
# point" takes one interval per point and counts the points won, lost and unresolved. A Wall
# Remover claim is *not comparable* where the Wall Remover contracted nothing (then it was not
# tested), with the counts as the reason, and judged at the points where it acted.

# %%
points = report.record_claims(
    out.claims, fig1=fig1, fig1_interval=fig1_iv, results=allres, iag_runs=iag_runs,
    real_errors=real_err, real_contractions=real_contr, values=values, n_plans=cfg.n_plans,
    n_aps=n_aps, n_walls=n_walls, width_m=width_m, planted_stretch=planted_stretch, seed=seed)
for sw, verdicts in points.items():  # the per-point verdicts behind "at every point"
    out.table(verdicts, f"claims_points_{sw}")

# %% [markdown]
# Where the paper's method does **not** win (every simulated condition in which WR+IAG is not
# the most accurate of all methods):

# %% tags=["hide-input"]
out.table(report.not_best(summary), "wr_iag_not_best")

# %% [markdown]
# ## Scorecard for this chapter

# %% tags=["nbval-check-output"]
scorecard = out.finish()
scorecard[["artefact", "quantity", "paper_value", "ours", "status"]]
