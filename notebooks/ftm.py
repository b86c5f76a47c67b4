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
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

import ipsbook
from ipsbook import data, plotting, profiles, stats
from ipsbook.methods.edm import (
    classical_mds,
    dilation_factors,
    edm,
    experiment,
    position_errors,
    smacof,
    symmetrise,
)
from ipsbook.methods.edm.iag import iag_resolve
from ipsbook.methods.edm.wall_remover import triangle_test, wall_remover
from ipsbook.book.outputs import RunOutput
from ipsbook.radio import (
    FloorPlan,
    FTMModel,
    fit_error_model,
    fit_table,
    simulate_ranges,
    to_model,
)

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
fits = {"rtt-feng (3 rooms)": fit_error_model(feng),
        **{f"rtt-feng {s}": fit_error_model(g) for s, g in feng.groupby("scene")},
        **{f"rtt-yu {s}": fit_error_model(g) for s, g in yu.items()}}
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

# %%
from ipsbook.metrics import ecdf

rng = np.random.default_rng([seed, 1])
fig, ax = plotting.subplots(figsize=(7, 4.2))
errs = feng.assign(err=feng.measured_m - feng.true_m).dropna(subset=["err"])
for k, (cls, los) in enumerate((("LoS", True), ("NLoS", False))):
    e = errs[errs.los == los]
    x, f = ecdf(e.err.to_numpy())
    ax.plot(x, f, color=plotting.PALETTE[k], label=f"real {cls} (rtt-feng, n={len(e)})")
    d = rng.choice(e.true_m.to_numpy(), 4000)
    walls = 0 if los else 1
    sim = d * (model.k_los + model.k_per_wall * walls) + model.bias_los + walls * model.wall_bias
    sigma = model.sigma_los if los else model.sigma_nlos_
    sim = np.maximum(sim + sigma * rng.standard_normal(d.size), 0.05)
    x, f = ecdf(sim - d)
    ax.plot(x, f, color=plotting.PALETTE[k], ls="--", label=f"fitted model, {walls} wall(s)")
ax.set_xlim(-5, 8)
plotting.labelled(ax, "range error (measured − true) [m]", "ECDF [–]",
                  "Real phone↔AP FTM errors vs the fitted simulator")
ax.legend()
out.figure(fig, "fit_ecdf")
plt.show()

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

# %%
rng = np.random.default_rng([seed, 2])
X8 = rng.uniform(5, 25, (8, 2))
X8[0] = [6.0, 15.0]
plan8 = FloorPlan(30.0, 30.0, np.array([[[8.0, 5.0], [8.0, 25.0]]]))
asym = simulate_ranges(plan8, X8, FTMModel(sigma_los=0.0, k_per_wall=0.3, wall_bias=1.0,
                                           asymmetric=True, near_end=3.0, max_range=100.0), rng)
D_exact = edm(X8)
i, j = 1, 5
D_one = D_exact.copy()
D_one[i, j] = D_one[j, i] = 1.4 * D_exact[i, j]
err_one = position_errors(classical_mds(D_one).X, X8).errors
err_one_w = position_errors(smacof(D_one, 2, seed=seed).X, X8).errors
fig, axes = plotting.subplots(1, 2, figsize=(10, 4.2))
im = axes[0].imshow(np.nan_to_num(asym.D - asym.D.T), cmap="RdBu_r", vmin=-4, vmax=4)
fig.colorbar(im, ax=axes[0], label="d_ij − d_ji [m]")
axes[0].set_xlabel("AP j [index]")
axes[0].set_ylabel("AP i [index]")
axes[0].set_title("asymmetric FTM ranges, wall near AP 0")
axes[1].bar(np.arange(8) - 0.2, err_one, 0.4, color=plotting.PALETTE[0], label="classical MDS")
axes[1].bar(np.arange(8) + 0.2, err_one_w, 0.4, color=plotting.PALETTE[1],
            label="weighted SMACOF")
for k in (i, j):
    axes[1].axvspan(k - 0.45, k + 0.45, color=plotting.PALETTE[3], alpha=0.12, lw=0)
plotting.labelled(axes[1], "AP [index]", "position error [m]",
                  f"only d_{i}{j} stretched ×1.4 (shaded: its ends)")
axes[1].legend(fontsize=8)
out.figure(fig, "fig1_asymmetry")
plt.show()

fig1 = out.table(experiment.fig1_spread(10 * cfg.n_plans, seed), "fig1_monte_carlo")
fig1_iv = stats.paired_difference(fig1.wsmacof_other_m, fig1.mds_other_m, "monte-carlo")
display(Markdown(
    f"Over {len(fig1)} layouts: RMS error on the other six APs, classical MDS "
    f"{fig1.mds_other_m.mean():.2f} m, weighted SMACOF {fig1.wsmacof_other_m.mean():.2f} m; "
    f"on the stretched pair {fig1.mds_pair_m.mean():.2f} m and "
    f"{fig1.wsmacof_pair_m.mean():.2f} m. MDS's share of squared error off the pair: "
    f"{fig1.mds_share_off_pair.mean():.0%} (the old criterion). Paired difference wSMACOF − MDS "
    f"on the other APs: {fig1_iv.describe('m')}."))

# %% [markdown]
# (ftm-eigen)=
# ## Sect. 3 — eigenvalues of the centred matrix under noise (simulated)
#
# An exact 2-D EDM gives two positive eigenvalues and zeros; noise and dilation create
# negative eigenvalues, "a sign that the object is not Euclidean or that noise is large".

# %%
rng = np.random.default_rng([seed, 3])
plan, X, _ = experiment.simulate_network(base, rng)
rows, spectra = [], {}
for s in (0.0, 0.5, 1.0, 2.0, 4.0):
    r = simulate_ranges(plan, X, base.model.replace(sigma_los=s, sigma_nlos=s, p_missing=0.0,
                                                    max_range=1e3, max_walls=100),
                        np.random.default_rng([seed, 4]))
    m = classical_mds(symmetrise(r.D, "min"), 2)
    spectra[s] = m.eigenvalues / m.eigenvalues[0]
    rows.append({"σ_LoS [m]": s, "negative eigenvalues": m.n_negative,
                 "negative mass": m.negative_mass, "rank (rel. 0.2)": int((spectra[s] > 0.2).sum())})
eig_tab = out.table(pd.DataFrame(rows), "eigen_diagnostics")
fig, ax = plotting.subplots(figsize=(7, 4))
for s, ev in spectra.items():
    ax.plot(np.arange(1, len(ev) + 1), ev, marker="o", ms=3, label=f"σ = {s:g} m")
ax.axhline(0, color="k", lw=0.8)
plotting.labelled(ax, "eigenvalue rank [–]", "eigenvalue / largest [–]",
                  f"classical MDS spectrum, {n_aps} APs, {n_walls} walls")
ax.legend()
out.figure(fig, "eigen_spectrum")
plt.show()
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
Xq = np.array([[0.0, 0.0], [20.0, 0.0], [9.0, 16.0], [9.0, 6.0]])
Dq = edm(Xq)
Dq[3, 2] = Dq[2, 3] = 1.3 * Dq[3, 2]
tt = triangle_test(Dq, 0, 1, 2, 3, tolerance=wr_kw["tolerance"])
fig, ax = plotting.subplots(figsize=(6.5, 5))
P = tt["points"]
tri = np.array([P["a"], P["b"], P["c"], P["a"]])
ax.plot(*tri.T, "k-", lw=1)
for name, p in P.items():
    ax.annotate(name, p, textcoords="offset points", xytext=(4, 4))
for k, (pair, p) in enumerate(tt["placements"].items()):
    ax.plot(*p, "o", color=plotting.PALETTE[k], ms=8, label=f"l placed from its ranges to {pair}")
ax.set_aspect("equal")
plotting.labelled(ax, "x [m]", "y [m]", "triangle test (l–c stretched ×1.3)")
ax.legend(fontsize=8)
out.figure(fig, "fig3_triangle_test")
plt.show()
tt_tab = out.table(pd.DataFrame([{"segment": seg, **{k: tt[k][seg] for k in ("measured", "predicted",
                                                                           "stretch", "flagged")}}
                                 for seg in ("la", "lb", "lc")]), "fig3_triangle_test")
tt_tab

# %% [markdown]
# The whole Wall Remover on two networks: the base network with walls (left) and a network of
# the Wall Remover's premise (middle: no walls, one interior range stretched
# ×`planted_stretch`, dashed, at the lowest LoS noise of the profile; the first of the sweep's
# plans in which it contracted anything, so that the figure shows it at work — in the table
# further down it acts in far from every plan). Right: the dilation factor
# `k = measured / true` of the premise network before and after. Red: ranges contracted.

# %%
rng = np.random.default_rng([seed, 5])
plan, X, r = experiment.simulate_network(base, rng)
Ds = symmetrise(r.D, "min")
wr = wall_remover(Ds, **wr_kw)
sigma0 = min(cfg.sigma_los)
prem0 = experiment.NetworkConfig(
    width_m=width_m, height_m=width_m, n_aps=n_aps, n_walls=0, planted_stretch=planted_stretch,
    model=base.model.replace(sigma_los=sigma0))
kw0 = {**wr_kw, "tolerance": wr_tolerance_sigma * sigma0}
for p in range(cfg.n_plans):  # the sweep's streams: plan p is (seed, p)
    plan_p, X_p, r_p = experiment.simulate_network(prem0, np.random.default_rng([seed, p]))
    Dp = symmetrise(r_p.D, "min")
    wr_p = wall_remover(Dp, **kw0)
    if wr_p.contractions:
        break
planted = tuple(np.argwhere(np.triu(experiment.stretched_pairs(r_p, prem0.model), 1))[0]) \
    if experiment.stretched_pairs(r_p, prem0.model).any() else None
k_before = dilation_factors(Dp, X_p)
k_after = dilation_factors(wr_p.D, X_p)
fig, axes = plotting.subplots(1, 3, figsize=(15, 4.4))
for ax, (pl, XX, res, title, pair) in zip(axes, (
        (plan, X, wr, f"{n_walls} walls", None),
        (plan_p, X_p, wr_p, f"premise, plan {p}, σ {sigma0:g} m", planted))):
    for wall in pl.walls:
        ax.plot(*wall.T, color="0.4", lw=2)
    if pair is not None:
        ax.plot(*XX[list(pair)].T, color="k", lw=1.5, ls="--")
    contracted = sorted({(a, b) for a, b, _ in res.contractions})
    for a, b in contracted:
        ax.plot(*XX[[a, b]].T, color=plotting.PALETTE[3], lw=1.5)
    ax.plot(*XX.T, "k^", ms=6)
    ax.set_aspect("equal")
    plotting.labelled(ax, "x [m]", "y [m]",
                      f"{title}: {len(res.contractions)} contractions of {len(contracted)} ranges")
kbins = np.linspace(0.8, max(1.6, np.nanmax(k_before)), 40)
axes[2].hist(k_before, kbins, alpha=0.6, label=f"before, var {np.var(k_before):.4f}")
axes[2].hist(k_after, kbins, alpha=0.6, label=f"after, var {np.var(k_after):.4f}")
plotting.labelled(axes[2], "dilation factor k [–]", "pairs [count]",
                  "Wall Remover, premise network")
axes[2].legend()
out.figure(fig, "fig4_wall_remover")
plt.show()
if not wr_p.contractions:
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
rng = np.random.default_rng([seed, 6])
X6 = rng.uniform(0, 20, (6, 2))
D6 = edm(X6) + np.triu(rng.normal(0, 0.5, (6, 6)), 1)
D6 = np.triu(D6, 1) + np.triu(D6, 1).T
res6 = iag_resolve(D6, **iag_kw)
al = position_errors(res6.X, X6)
R = np.linalg.lstsq(np.c_[res6.X, np.ones(6)], al.aligned, rcond=None)[0]
fig, axes = plotting.subplots(1, 2, figsize=(10, 4.5))
for t, it in enumerate(res6.iterations[:4]):  # Fig. 5: each iteration in its own frame
    axes[0].plot(*it.local.T, "o", ms=5, color=plotting.PALETTE[t],
                 label=f"iteration {t + 1}: origin {it.origin}, pivot {it.pivot} on +x")
    for p_idx, xy in zip(it.points, it.local):
        axes[0].annotate(str(p_idx), xy, fontsize=7, color=plotting.PALETTE[t],
                         textcoords="offset points", xytext=(3, 3))
axes[0].axhline(0, color="k", lw=0.6)
axes[0].set_aspect("equal")
plotting.labelled(axes[0], "u [m]", "v [m]", "iterations before alignment (Fig. 5)")
axes[0].legend(fontsize=7)
for k, cl in enumerate(res6.clusters):  # Fig. 6: clusters in the common frame, then aligned
    if len(cl):
        pts = np.c_[cl, np.ones(len(cl))] @ R
        axes[1].plot(*pts.T, ".", color=plotting.PALETTE[k % 8], alpha=0.5)
axes[1].plot(*al.aligned.T, "kx", ms=9, mew=2, label="cluster centres (estimates)")
axes[1].plot(*X6.T, "o", mfc="none", mec="k", ms=9, label="true positions")
axes[1].set_aspect("equal")
plotting.labelled(axes[1], "x [m]", "y [m]",
                  f"clusters (Fig. 6), RMSE {al.rmse:.2f} m, poor anchors {res6.poor_anchors}")
axes[1].legend(fontsize=7)
out.figure(fig, "fig5_iag_clusters")
plt.show()

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
iag_tab = out.table(iag_runs.groupby(["variant", "target"], sort=False)
                    .agg(rmse_m=("rmse_m", "mean"), max_hops=("max_hops", "mean"))
                    .reset_index(), "iag_variants")
bins = out.table(experiment.hop_bins(iag_its), "iag_error_by_hops")
fig, ax = plotting.subplots(figsize=(7, 4.2))
for k, ((v, t), g) in enumerate(bins.groupby(["variant", "target"], sort=False)):
    ax.plot(g.hops_from + 1, g.iteration_error_m, marker="o", ms=4, color=plotting.PALETTE[k],
            ls="-" if t == "reference" else "--", label=f"{v}, target {t}")
ax.set_xscale("log")
ax.set_yscale("log")
plotting.labelled(ax, "hops from the first frame + 1 [count]",
                  "error of an aligned iteration [m]",
                  f"IAG alignment drift, {n_aps} APs, {n_walls} walls, {cfg.n_plans} plans")
ax.legend(fontsize=7)
out.figure(fig, "iag_drift")
plt.show()
r_of = iag_tab.set_index(["variant", "target"]).rmse_m
lat = bins[(bins.variant == "sequential") & (bins.target == "latest")]
display(Markdown(
    f"Mean RMSE over {cfg.n_plans} plans — re-anchored: 'combinations' "
    f"{r_of[('combinations', 'reference')]:.2f} m, 'sequential' "
    f"{r_of[('sequential', 'reference')]:.2f} m, 'mean' {r_of[('mean', 'reference')]:.2f} m; "
    f"onto the latest iteration: 'combinations' {r_of[('combinations', 'latest')]:.2f} m, "
    f"'sequential' {r_of[('sequential', 'latest')]:.2f} m."
    + (f" An iteration aligned by 'sequential' onto the latest one is "
       f"{lat.iteration_error_m.iloc[1]:.1f} m off at {lat.hops_from.iloc[1]} hop and "
       f"{lat.iteration_error_m.max():.0f} m at its worst "
       f"({lat.hops_from.iloc[lat.iteration_error_m.argmax()]}+ hops). The first frame "
       f"itself (0 hops) is {lat.iteration_error_m.iloc[0]:.1f} m off: one iteration places "
       "its sensors from two pivots only, through walls; the cluster centres average that out."
       if len(lat) >= 2 else "")))
iag_tab.round(2)

# %% [markdown]
# (ftm-sweeps)=
# ## Position error vs noise, walls, network size and missing ranges (fitted simulator)
#
# Each point: the mean RMSE over the same random floor plans (common random numbers), with a
# 95 % bootstrap band; every other variable stays at the base network above. TRI trilaterates
# from 4 APs of known position (the others' positions are unknown). The sixth panel is the
# Wall Remover's premise (new in this revision): no walls, one interior range stretched
# ×`planted_stretch`, LoS noise from low to high. Verdicts between methods come from the
# paired differences over the plans (section {ref}`ftm-claims`), not from these bands.

# %%
sweeps = {name: experiment.sweep(name, tuple(cfg[name]), base, cfg.n_plans, seed,
                                 wr_kw=wr_kw, iag_kw=iag_kw,
                                 wr_tolerance_sigma=wr_tolerance_sigma)
          for name in experiment.SWEEPS}
# The fitted NLoS excess is small (see the fit table), so walls barely stand out from the noise.
# Paper B's premise is a wall that dilates a range well beyond it: a second wall sweep, under
# the same noise, with 20 % dilation and 0.5 m per wall (our choice), gives its methods
# something to find.
strong = experiment.NetworkConfig(width_m=width_m, height_m=width_m, n_aps=n_aps,
                                  n_walls=n_walls,
                                  model=base.model.replace(k_per_wall=0.2, wall_bias=0.5))
sweeps["n_walls_strong"] = experiment.sweep(
    "n_walls", tuple(cfg.n_walls), strong, cfg.n_plans, seed, wr_kw=wr_kw, iag_kw=iag_kw,
    wr_tolerance_sigma=wr_tolerance_sigma).assign(sweep="n_walls_strong")
# The Wall Remover's premise (Sect. 5.1, Figs. 1/3): one interior range stretched by an
# obstacle, line of sight elsewhere. No walls; one range the Wall Remover can test (an inner
# segment of >= 8 contained quadruples of the exact geometry) ×planted_stretch; the LoS noise
# over the profile's σ values (the same sizes as the noise sweep).
premise = experiment.NetworkConfig(width_m=width_m, height_m=width_m, n_aps=n_aps, n_walls=0,
                                   model=base.model, planted_stretch=planted_stretch)
sweeps["premise"] = experiment.sweep(
    "sigma_los", tuple(cfg.sigma_los), premise, cfg.n_plans, seed, wr_kw=wr_kw, iag_kw=iag_kw,
    wr_tolerance_sigma=wr_tolerance_sigma).assign(sweep="premise")
allres = pd.concat(sweeps.values(), ignore_index=True)
summary = out.table(experiment.summarise(allres, seed=seed), "sweeps_rmse")
labels = {"sigma_los": "LoS ranging noise σ [m]", "n_walls": "interior walls [count]",
          "n_walls_strong": "interior walls, strong (×1.2 each) [count]",
          "n_aps": "access points [count]", "p_missing": "extra missing share [–]",
          "premise": f"LoS noise σ, no walls, one range ×{planted_stretch:g} [m]"}
fig, axes = plotting.subplots(2, 3, figsize=(14, 8))
for ax, (name, lab) in zip(axes.ravel(), labels.items()):
    for k, m in enumerate(experiment.METHODS):
        c = summary[(summary.sweep == name) & (summary.method == m)]
        plotting.band(ax, c.value.astype(float), c.rmse_m, c.ci_low_m, c.ci_high_m,
                      color=plotting.PALETTE[k], label=m,
                      linestyle="-" if "IAG" in m or "WR" in m else "--")
    ax.set_yscale("log")
    plotting.labelled(ax, lab, "AP position RMSE [m]")
axes[0, 0].legend(ncol=2, fontsize=7)
out.figure(fig, "sweeps_rmse")
plt.show()

# %% tags=["nbval-check-output"]
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

# %%
kv = allres.drop_duplicates(["sweep", "value", "plan"])
n_contr = kv.groupby("sweep").wr_contractions.mean()
pk = kv[kv.sweep == "premise"]
idle = pk[pk.wr_contractions == 0]
display(Markdown(
    "Contractions per plan, by sweep: " + ", ".join(f"{k} {v:.2f}" for k, v in n_contr.items())
    + ". The Wall Remover contracts a range only when it is flagged (stretch above ε) in most "
    "of the quadruples that test it, with a 95 % Wilson lower bound of at least 2/3, and only "
    "when its mean stretch stands ε above the median stretch of all ranges. In the wall sweeps "
    "a large share of the links crosses walls (`nlos_share` in the table file), the median "
    "itself is stretched and few ranges stand out, so the corrected matrix equals the measured "
    "one almost everywhere and WR+IAG is IAG there. In the premise regime it acted in "
    f"{int((pk.wr_contractions > 0).sum())} of {len(pk)} plans, with "
    f"{int(pk.wr_tp.sum())} true and {int(pk.wr_fp.sum())} false positive contractions. "
    + (f"In the {len(idle)} plans where it did nothing, the planted range was tested by "
       f"{idle.stretched_tests.mean():.1f} contained quadruples on average (at least 8 in the "
       f"exact geometry) and flagged by {idle.stretched_flagged.mean():.0%} of them; the rule "
       "asks for a Wilson lower bound of 2/3, i.e. 9 flags in 9 tests, 15 in 16 or 26 in 30: "
       "with noise, a range tested by about ten quadruples rarely gets there. "
       if len(idle) else "")
    + "A looser rule (the paper's literal 'largest probability') contracts unstretched "
    "ranges and makes positions worse; see the docstring of "
    "`ipsbook.methods.edm.wall_remover`."))

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
nets = {f"rtt-feng {s}": data.rtt_network(g, reduce="min", max_points=cfg.real_max_points or None)
        for s, g in feng.groupby("scene")}
nets.update({f"rtt-yu {s}": data.rtt_network(g, reduce="min",
                                             max_points=cfg.real_max_points or None)
             for s, g in yu.items()})
real_rows, real_err, real_contr = [], {}, {}
for scene, net in nets.items():
    errs, why, real_contr[scene] = experiment.real_errors(net.D, net.X_true, net.is_ap,
                                                          seed=seed, wr_kw=wr_kw, iag_kw=iag_kw)
    real_err[scene] = errs
    for m in experiment.METHODS:
        e = errs[m].to_numpy()
        rmse = float(np.sqrt(np.nanmean(e**2))) if np.isfinite(e).any() else np.nan
        real_rows.append({"scene": scene, "nodes": len(net.X_true), "APs": int(net.is_ap.sum()),
                          "method": m, "phone RMSE [m]": rmse,
                          "note": "; ".join(x for x in why.split("; ") if x.startswith(m + ":"))})
real = out.table(pd.DataFrame(real_rows), "real_networks")
real_piv = real.pivot(index="scene", columns="method", values="phone RMSE [m]")
display(Markdown("Wall Remover contractions per real network: "
                 + ", ".join(f"{k} {v}" for k, v in real_contr.items()) + "."))
real_piv.round(2)

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
C = out.claims
wr_c = experiment.wr_counts(allres)
w = tuple(cfg.n_walls)
completion = ("MDS", "SMACOF", "wSMACOF")
# the Wall Remover's claims are judged on the two wall sweeps, on the network-size sweep (the
# only fitted sweep with many quadruples per range: it acts there from 50 APs on) and on the
# premise regime; the comparisons with completion methods on the wall sweeps and the premise
regimes = {"n_walls": "fitted walls", "n_walls_strong": "strong walls",
           "n_aps": "network size", "premise": f"one interior range ×{planted_stretch:g}"}
data_of = {
    "n_walls": f"fitted simulator, {n_aps} APs on {width_m:g} m × {width_m:g} m, walls {w}, "
               f"{cfg.n_plans} random floor plans per point",
    "n_walls_strong": f"as the fitted walls, each wall ×1.2 and +0.5 m, walls {w}, "
                      f"{cfg.n_plans} plans per point",
    "n_aps": f"fitted simulator, {n_walls} walls, APs {tuple(cfg.n_aps)}, {cfg.n_plans} plans "
             "per point",
    "premise": f"fitted LoS model, no walls, {n_aps} APs, one interior range ×"
               f"{planted_stretch:g}, σ_LoS {tuple(cfg.sigma_los)} m, {cfg.n_plans} plans "
               "per point",
}
PLANS = ("each RMSE a mean over fewer random floor plans (n_plans) and the sweep shorter than "
         "under full/paper, under smoke/quick")


def wr_gate(sw):
    """Sweep points where the Wall Remover acted, and the counts (the reason when none)."""
    c = wr_c[wr_c.sweep == sw]
    acted = experiment.acted_values(wr_c, sw)
    text = (f"{int(c.contractions.sum())} contractions ({int(c.tp.sum())} true, "
            f"{int(c.fp.sum())} false positives) in {int(c.plans_acted.sum())} of "
            f"{int(c.plans.sum())} plans; acted at {len(acted)} of {len(c)} points")
    return acted, text


def count_text(n):
    return (f"{n['won']} of {n['points']} points won, {n['lost']} lost, "
            f"{n['unresolved']} unresolved")


# 1. Fig. 1: centring spreads one pair's error over the other APs more than a weighted method.
C.difference(
    "Sect. 3, Fig. 1", "RMS error on the APs other than one stretched pair (8 APs), "
    "weighted SMACOF − classical MDS",
    "classical MDS spreads one pair's error over the other APs (more than a weighted method)",
    fig1_iv, better="lower", unit="m", anchor="ftm-fig1",
    profile_sensitive="the number of layouts is 10 × n_plans, fewer under smoke/quick",
    protocol={"source": "Sect. 3: centring's \"direct effect is to dilute the noise of one "
                        "pair into the measurements reported by other pairs\"; Fig. 1",
              "data": f"{len(fig1)} random layouts: 8 APs uniform in a 20 m square, exact "
                      "ranges, one random pair ×1.4",
              "metric": "RMS position error on the 6 APs off the stretched pair after rigid "
                        "alignment of the whole network [m]",
              "baseline": "weighted SMACOF (stress, all weights 1) on the same matrix"})

for sw, what in regimes.items():
    acted, counts = wr_gate(sw)
    wall = sw.startswith("n_walls")
    pts = tuple(v for v in sorted(allres[allres.sweep == sw].value.unique()) if v > 0)
    # 2. MDS degrades sharply under NLoS: its RMSE grows faster with the walls than wSMACOF's.
    if wall:
        iv, fac = experiment.growth_interval(allres, sw, "wSMACOF", "MDS", w[0], w[-1])
        C.difference(
            "Sect. 3", f"RMSE growth from {w[0]} to {w[-1]} walls, MDS vs weighted SMACOF "
            f"({what})", "classical MDS degrades sharply under asymmetric (NLOS) noise",
            iv, better="lower", anchor="ftm-sweeps", profile_sensitive=PLANS,
            protocol={"source": "Sect. 3: centring causes \"mMDS to fail in highly asymmetric "
                                "measurements like FTM\"",
                      "data": data_of[sw],
                      "metric": f"per plan, ln(RMSE at {w[-1]} walls / RMSE at {w[0]}) [–]; "
                                f"mean growth MDS ×{fac['MDS']:.2f}, wSMACOF "
                                f"×{fac['wSMACOF']:.2f}",
                      "baseline": "weighted SMACOF's growth on the same plans (A = wSMACOF, "
                                  "B = MDS: wSMACOF grows less)"})
    # 3. The Wall Remover lowers the variance of k (by at least 10 %).
    proto_k = {"source": "Sect. 5.1: the Wall Remover outputs \"a matrix which k factor is "
                         "closer to uniformity\"",
               "data": data_of[sw] + "; only the points where the Wall Remover acted",
               "metric": "per plan, var(k after) / var(k before) − 1, k = measured / true [–]",
               "baseline": "the same matrix before the Wall Remover"}
    q_k = f"variance of k = measured/true before → after the Wall Remover ({what})"
    if not acted:
        C.not_comparable("Sect. 5.1", q_k, "the Wall Remover lowers the variance of the "
                         "dilation factor", counts,
                         "the Wall Remover contracted nothing, so it was not tested: " + counts,
                         anchor="ftm-dilation", protocol=proto_k)
    else:
        b = experiment.per_plan_stat(allres, sw, acted, "k_var_before")
        a = experiment.per_plan_stat(allres, sw, acted, "k_var_after")
        C.difference("Sect. 5.1", q_k, "the Wall Remover lowers the variance of the dilation "
                     "factor", stats.mean_interval(a / b - 1, "monte-carlo"),
                     better="lower", anchor="ftm-dilation",
                     profile_sensitive=PLANS, protocol={**proto_k, "data": proto_k["data"]
                                                        + f" ({counts})"})
    # 4. Its contractions hit really stretched ranges: true minus false positives per plan.
    q_tp = f"true minus false positive contractions per plan ({what})"
    proto_tp = {"source": "Sect. 5.1: it determines \"that the distance surfaced for the "
                          "affected segment is larger than a LoS measurement would estimate\"",
                "data": data_of[sw] + "; only the points where the Wall Remover acted",
                "metric": "per plan, contractions of really stretched ranges (a wall on the "
                          "path or the planted stretch: the simulator's ground truth) minus "
                          "contractions of unstretched ones [count]",
                "baseline": "contractions of unstretched ranges in the same plans"}
    if not acted:
        C.not_comparable("Sect. 5.1", q_tp, "the Wall Remover contracts the stretched ranges",
                         counts, "the Wall Remover contracted nothing, so it was not tested: "
                         + counts, anchor="ftm-dilation", protocol=proto_tp)
    else:
        d = (experiment.per_plan_stat(allres, sw, acted, "wr_tp")
             - experiment.per_plan_stat(allres, sw, acted, "wr_fp"))
        C.difference("Sect. 5.1", q_tp, "the Wall Remover contracts the stretched ranges",
                     stats.mean_interval(d, "monte-carlo"), better="higher",
                     anchor="ftm-dilation", profile_sensitive=PLANS,
                     protocol={**proto_tp, "data": proto_tp["data"] + f" ({counts})"})
    # 5. It brings the stretched ranges back towards their line-of-sight value.
    q_ex = f"excess of the really stretched ranges after − before the Wall Remover ({what})"
    proto_ex = {"source": "Sect. 5.1: it \"attempt[s] to individually and progressively reduce "
                          "the distance\" of a stretched segment",
                "data": data_of[sw] + "; only the points where the Wall Remover acted",
                "metric": "per plan, mean over the really stretched ranges of measured − "
                          "(k_LoS·true + bias_LoS), after minus before [m]",
                "baseline": "the same ranges before the Wall Remover"}
    if not acted:
        C.not_comparable("Sect. 5.1", q_ex, "the Wall Remover shortens the stretched ranges",
                         counts, "the Wall Remover contracted nothing, so it was not tested: "
                         + counts, anchor="ftm-dilation", protocol=proto_ex)
    else:
        d = (experiment.per_plan_stat(allres, sw, acted, "stretch_after_m")
             - experiment.per_plan_stat(allres, sw, acted, "stretch_before_m"))
        C.difference("Sect. 5.1", q_ex, "the Wall Remover shortens the stretched ranges",
                     stats.mean_interval(d, "monte-carlo"), better="lower", unit="m",
                     anchor="ftm-dilation", profile_sensitive=PLANS,
                     protocol={**proto_ex, "data": proto_ex["data"] + f" ({counts})"})
    # 6. WR+IAG beats standard EDM completion, at every point (walls > 0; every σ).
    where = "wall count > 0" if wall else "noise level"
    vals = pts if wall else tuple(sorted(allres[allres.sweep == sw].value.unique()))
    ver = pd.DataFrame()
    if sw != "n_aps":  # not an NLoS sweep: the completion claim is judged on the others
        ver = experiment.point_verdicts(allres, sw, "WR+IAG", completion, vals)
        n = experiment.verdict_counts(ver)
        C.relation("Sect. 5.2", f"WR+IAG vs the best of MDS / SMACOF / weighted SMACOF at every "
                   f"{where} ({what})",
                   "IAG with the Wall Remover beats standard EDM completion under NLOS",
                   n["won"] == n["points"], count_text(n) + f"; Wall Remover: {counts}",
                   why_not="a completion method is as good or better (or not told apart) at "
                           "some point", anchor="ftm-sweeps", profile_sensitive=PLANS,
                   protocol={"source": "Sect. 5.2: \"Combined together, these two techniques "
                                       "provide better result than standard EDM techniques\"",
                             "data": data_of[sw],
                             "metric": "AP position RMSE after rigid alignment [m]",
                             "baseline": "classical MDS and SMACOF on the shortest-path-completed "
                                         "matrix, weighted SMACOF skipping missing pairs",
                             "rule": "at every point, the 95 % interval of WR+IAG − B wholly "
                                     "below 0 for each of the three B",
                             "interval": f"per point and method, Student t over {cfg.n_plans} "
                                         "paired plans (table file claims_points)"})
    # 7. The Wall Remover's own contribution: WR+IAG vs IAG and WR+MDS vs MDS where it acted.
    src_of = {"IAG": ("Sect. 5.2: \"Such reduction still limits the asymmetry of the noise, "
                      "which will therefore also limit the error\""),
              "MDS": ("Sect. 5.2: \"Noise reduction can be used on its own as a preparatory "
                      "step to classical EDM resolution techniques\"")}
    for b_m, src in src_of.items():
        a_m = "WR+" + b_m
        q = f"{a_m} vs {b_m} at every point where the Wall Remover acted ({what})"
        proto = {"source": src, "data": data_of[sw] + "; only the points where it acted",
                 "metric": "AP position RMSE after rigid alignment [m]",
                 "baseline": f"{b_m} on the uncorrected matrix, same plans",
                 "rule": f"at every such point, the 95 % interval of {a_m} − {b_m} wholly "
                         "below 0"}
        if not acted:
            C.not_comparable("Sect. 5.2", q, "the Wall Remover lowers the position error",
                             counts, "the Wall Remover contracted nothing, so " + a_m
                             + " is " + b_m + ": " + counts, anchor="ftm-dilation",
                             protocol=proto)
            continue
        vr = experiment.point_verdicts(allres, sw, a_m, (b_m,), acted)
        ver = pd.concat([ver, vr], ignore_index=True)
        n = experiment.verdict_counts(vr)
        C.relation("Sect. 5.2", q, "the Wall Remover lowers the position error",
                   n["won"] == n["points"], count_text(n) + f"; {counts}",
                   why_not="not lower at every point where it acted", anchor="ftm-dilation",
                   profile_sensitive=PLANS,
                   protocol={**proto, "interval": f"per point, Student t over {cfg.n_plans} "
                                                  "paired plans (table file claims_points)"})
    if len(ver):
        out.table(ver, f"claims_points_{sw}")

# 8. IAG's variants: "all possible combinations ... provides a higher precision".
iag_ref = iag_runs[iag_runs.target == "reference"].pivot(index="plan", columns="variant",
                                                         values="rmse_m")
for other in ("sequential", "mean"):
    C.difference(
        "Sect. 5.2, IAG variants", f"AP position RMSE, 'combinations' − '{other}' alignment",
        "computing all possible combinations provides a higher precision",
        stats.paired_difference(iag_ref["combinations"], iag_ref[other], "monte-carlo"),
        better="lower", unit="m", anchor="ftm-iag-variants", profile_sensitive=PLANS,
        protocol={"source": "Sect. 5.2: \"The second method is obviously more computationally "
                            "intensive, but provides a higher precision in the final outcome\"",
                  "data": f"base network (fitted simulator, {n_aps} APs, {n_walls} walls), "
                          f"{cfg.n_plans} random plans; chained variants re-anchored "
                          "(chain_target='reference')",
                  "metric": "AP position RMSE after rigid alignment [m]",
                  "baseline": f"IAG with the '{other}' alignment on the same ranges"})

# 9. The same on real ranges, per scene: per-phone squared errors, paired, bootstrap.
for scene, errs in real_err.items():
    rm = {m: float(np.sqrt(np.nanmean(errs[m] ** 2))) for m in completion
          if np.isfinite(errs[m]).any()}
    best_c = min(rm, key=rm.get)
    iv = stats.paired_difference(errs["WR+IAG"] ** 2, errs[best_c] ** 2, "bootstrap", seed=seed)
    C.difference(
        "Sect. 5.2 (real ranges)", f"phone RMSE, WR+IAG vs best completion, {scene}",
        "IAG with the Wall Remover beats standard EDM completion", iv, better="lower",
        unit="m²", anchor="ftm-real",
        profile_sensitive=("the real RTT network is cut to real_max_points points under "
                           "smoke/quick (all points under full/paper); the methods can rank "
                           "differently on the full network"),
        protocol={"source": "Sect. 5.2: \"Combined together, these two techniques provide "
                            "better result than standard EDM techniques\"",
                  "data": f"{scene}: {len(errs)} phone positions + APs of known position "
                          "(real phone↔AP RTT ranges, min of each point's scans); Wall "
                          f"Remover contractions: {real_contr[scene]}",
                  "metric": "per phone, squared position error after aligning the whole "
                            f"network [m²]; RMSE WR+IAG {np.sqrt(np.nanmean(errs['WR+IAG']**2)):.2f}"
                            f" m vs {best_c} {rm[best_c]:.2f} m",
                  "baseline": f"{best_c}, the most accurate of MDS / SMACOF / weighted SMACOF "
                              "here (chosen on the same data, which favours the baseline)"})

# %% [markdown]
# Where the paper's method does **not** win (every simulated condition in which WR+IAG is not
# the most accurate of all methods):

# %%
best_m = summary.loc[summary.groupby(["sweep", "value"]).rmse_m.idxmin()]
losses = out.table(best_m[best_m.method != "WR+IAG"][["sweep", "value", "method", "rmse_m"]],
                   "wr_iag_not_best")
losses

# %% [markdown]
# ## Scorecard for this chapter

# %% tags=["nbval-check-output"]
scorecard = out.finish()
scorecard[["artefact", "quantity", "paper_value", "ours", "status"]]
