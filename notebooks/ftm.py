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

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

import ipsbook
from ipsbook import data, plotting, profiles
from ipsbook.methods.edm import (
    classical_mds,
    dilation_factors,
    edm,
    experiment,
    position_errors,
    symmetrise,
)
from ipsbook.methods.edm.iag import iag_resolve
from ipsbook.methods.edm.wall_remover import triangle_test, wall_remover
from ipsbook.outputs import RunOutput
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
cfg = profiles.resolve("ftm", profile, n_plans=n_plans or None)
params = dict(seed=seed, n_aps=n_aps, n_walls=n_walls, width_m=width_m, p_missing=p_missing,
              error_model=error_model, wr_learning_rate=wr_learning_rate,
              wr_tolerance_sigma=wr_tolerance_sigma, iag_variant=iag_variant, n_plans=cfg.n_plans)
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
# per-AP error of classical MDS on the exact matrix with **one** range stretched by 40 %: the
# double centring `B = −½ J D² J` spreads that one pair's error over every AP.

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
share_spread = float((np.delete(err_one, [i, j]) ** 2).sum() / (err_one**2).sum())
fig, axes = plotting.subplots(1, 2, figsize=(10, 4.2))
im = axes[0].imshow(np.nan_to_num(asym.D - asym.D.T), cmap="RdBu_r", vmin=-4, vmax=4)
fig.colorbar(im, ax=axes[0], label="d_ij − d_ji [m]")
axes[0].set_xlabel("AP j [index]")
axes[0].set_ylabel("AP i [index]")
axes[0].set_title("asymmetric FTM ranges, wall near AP 0")
axes[1].bar(range(8), err_one, color=[plotting.PALETTE[3] if k in (i, j) else plotting.PALETTE[0]
                                      for k in range(8)])
plotting.labelled(axes[1], "AP [index]", "position error [m]",
                  f"classical MDS, only d_{i}{j} stretched ×1.4")
out.figure(fig, "fig1_asymmetry")
plt.show()
print(f"share of the squared error on APs other than {i} and {j}: {share_spread:.0%}")

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
# The whole Wall Remover on a network with walls: ranges it contracted, and the dilation factor
# `k = measured / true` before and after.

# %%
rng = np.random.default_rng([seed, 5])
plan, X, r = experiment.simulate_network(base, rng)
Ds = symmetrise(r.D, "min")
wr = wall_remover(Ds, **wr_kw)
k_before = dilation_factors(Ds, X)
k_after = dilation_factors(wr.D, X)
fig, axes = plotting.subplots(1, 2, figsize=(10, 4.2))
for w in plan.walls:
    axes[0].plot(*w.T, color="0.4", lw=2)
axes[0].plot(*X.T, "k^", ms=6)
for a, b, _ in wr.contractions:
    axes[0].plot(*X[[a, b]].T, color=plotting.PALETTE[3], lw=1)
axes[0].set_aspect("equal")
plotting.labelled(axes[0], "x [m]", "y [m]", f"{len(wr.contractions)} ranges contracted (red)")
bins = np.linspace(0.8, max(1.6, np.nanmax(k_before)), 40)
axes[1].hist(k_before, bins, alpha=0.6, label=f"before, var {np.var(k_before):.4f}")
axes[1].hist(k_after, bins, alpha=0.6, label=f"after, var {np.var(k_after):.4f}")
plotting.labelled(axes[1], "dilation factor k [–]", "pairs [count]", "Wall Remover")
axes[1].legend()
out.figure(fig, "fig4_wall_remover")
plt.show()

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
# (ftm-sweeps)=
# ## Position error vs noise, walls, network size and missing ranges (fitted simulator)
#
# Each point: the mean RMSE over the same random floor plans (common random numbers), with a
# 95 % bootstrap band; every other variable stays at the base network above. TRI trilaterates
# from 4 APs of known position (the others' positions are unknown).

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
allres = pd.concat(sweeps.values(), ignore_index=True)
summary = out.table(experiment.summarise(allres, seed=seed), "sweeps_rmse")
labels = {"sigma_los": "LoS ranging noise σ [m]", "n_walls": "interior walls [count]",
          "n_walls_strong": "interior walls, strong (×1.2 each) [count]",
          "n_aps": "access points [count]", "p_missing": "extra missing share [–]"}
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
axes[1, 2].axis("off")
out.figure(fig, "sweeps_rmse")
plt.show()

# %% tags=["nbval-check-output"]
headline = summary[(summary.sweep == "n_walls") & (summary.value == n_walls)] if (
    n_walls in tuple(cfg.n_walls)) else summary[summary.sweep == "n_walls"]
out.table(headline, "headline_rmse")
headline[["value", "method", "rmse_m", "ci_low_m", "ci_high_m", "failed"]].round(3)

# %% [markdown]
# (ftm-dilation)=
# ### Dilation factor before and after the Wall Remover (fitted simulator)

# %%
kv = allres.drop_duplicates(["sweep", "value", "plan"])
kv_tab = out.table(kv.groupby(["sweep", "value"])[["k_var_before", "k_var_after",
                                                  "wr_contractions", "nlos_share",
                                                  "missing_share"]].mean().reset_index(),
                   "dilation_variance")
n_contr = kv.groupby("sweep").wr_contractions.mean()
display(Markdown(
    "Contractions per plan, by sweep: " + ", ".join(f"{k} {v:.1f}" for k, v in n_contr.items())
    + ". The Wall Remover contracts a range only when it is flagged (stretch above ε) in most "
    "of the quadruples that test it, with a 95 % Wilson lower bound of at least 2/3, and only "
    "when its mean stretch stands ε above the median stretch of all ranges. With ε at a few σ "
    "of the real FTM noise, a wall must stretch a range well beyond the noise, in many "
    "quadruples, while most other ranges stay unstretched: in floor plans where a large share "
    "of the links crosses walls, or with few APs (few quadruples per range), that rarely "
    "happens, and the corrected matrix equals the measured one. A looser rule (the paper's "
    "literal 'largest probability') contracts unstretched ranges and makes positions worse; "
    "see the docstring of `ipsbook.methods.edm.wall_remover`."))
kv_tab[kv_tab.sweep.isin(["n_walls", "n_walls_strong"])].round(4)

# %% [markdown]
# (ftm-real)=
# ## The methods on real FTM ranges (real data)
#
# Nodes: the APs and the surveyed phone positions of each scene (rtt-yu: a subsample of the
# walked positions); phone↔AP ranges are the smallest of each point's scans (paper B keeps the
# best range of a burst); AP↔AP distances are known; phone↔phone ranges are missing. RMSE over
# the phone positions after aligning the whole network; TRI trilaterates each phone from the APs.

# %%
real_rows = []
nets = {f"rtt-feng {s}": data.rtt_network(g, reduce="min", max_points=cfg.real_max_points or None)
        for s, g in feng.groupby("scene")}
nets.update({f"rtt-yu {s}": data.rtt_network(g, reduce="min",
                                             max_points=cfg.real_max_points or None)
             for s, g in yu.items()})
for scene, net in nets.items():
    for m in experiment.METHODS:
        try:
            X_est = experiment.solve(m, net.D, anchors=(np.flatnonzero(net.is_ap),
                                                        net.X_true[net.is_ap]),
                                     seed=seed, wr_kw=wr_kw, iag_kw=iag_kw)
            e = position_errors(X_est, net.X_true).errors[~net.is_ap]
            rmse, why = float(np.sqrt(np.nanmean(e**2))), ""
        except ValueError as exc:
            rmse, why = np.nan, str(exc)[:80]
        real_rows.append({"scene": scene, "nodes": len(net.X_true), "APs": int(net.is_ap.sum()),
                          "method": m, "phone RMSE [m]": rmse, "note": why})
real = out.table(pd.DataFrame(real_rows), "real_networks")
real_piv = real.pivot(index="scene", columns="method", values="phone RMSE [m]")
real_piv.round(2)

# %% [markdown]
# (ftm-claims)=
# ## Claims — the paper's statements against our numbers
#
# The paper states findings, not numbers, so each claim is a relation tested on our results,
# with the criterion fixed in the code below.

# %%
C = out.claims
S = summary.set_index(["sweep", "value", "method"]).rmse_m

# 1. Centring spreads one pair's error over all APs (Fig. 1 experiment).
C.relation("Sect. 3, Fig. 1", "share of classical-MDS squared error off the two ends of one "
           "stretched range (8 APs)", "centring spreads one pair's error over all the others",
           share_spread > 0.5, f"{share_spread:.0%} of the squared error on the other 6 APs",
           why_not="the error stays on the stretched pair", anchor="ftm-fig1")

# 2.-4. on both wall sweeps: the fitted walls and the strong ones.
w = tuple(cfg.n_walls)
completion = ("MDS", "SMACOF", "wSMACOF")
for sw, what in (("n_walls", "fitted walls"), ("n_walls_strong", "strong walls")):
    # 2. MDS degrades sharply under NLOS dilation: its RMSE grows more with the walls than
    #    the weighted-SMACOF baseline's (ratio of RMSE at the most walls to RMSE without).
    growth = {m: S[(sw, w[-1], m)] / S[(sw, w[0], m)] for m in ("MDS", "wSMACOF")}
    C.relation("Sect. 3", f"RMSE growth from {w[0]} to {w[-1]} walls, MDS vs weighted SMACOF "
               f"({what})", "classical MDS degrades sharply under asymmetric (NLOS) noise",
               growth["MDS"] > growth["wSMACOF"],
               f"MDS ×{growth['MDS']:.2f}, wSMACOF ×{growth['wSMACOF']:.2f}",
               why_not="MDS degrades no faster than weighted SMACOF", anchor="ftm-sweeps",
               profile_sensitive=("the walls sweep stops short of the paper's, and each RMSE "
                                  "is a mean over fewer random floor plans (n_plans), under "
                                  "smoke/quick"))
    # 3. The Wall Remover lowers the variance of k (mean over plans with walls) — by at least
    #    10 %, so that a change lost in the noise does not count as a reproduction.
    kw = kv[(kv.sweep == sw) & (kv.value > 0)]
    before, after = kw.k_var_before.mean(), kw.k_var_after.mean()
    C.relation("Sect. 5.1", f"variance of k = measured/true before → after the Wall Remover "
               f"({what})", "the Wall Remover lowers the variance of the dilation factor "
               "(by ≥ 10 %)", after <= 0.9 * before,
               f"{before:.4f} → {after:.4f} ({after / before - 1:+.1%}), "
               f"{kw.wr_contractions.mean():.1f} contractions per plan",
               why_not="the variance does not fall by 10 %", anchor="ftm-dilation")
    # 4. IAG with the Wall Remover beats standard EDM completion under NLOS (every wall count).
    wins = {v: S[(sw, v, "WR+IAG")] < min(S[(sw, v, m)] for m in completion) for v in w if v > 0}
    C.relation("Sect. 5.2", f"WR+IAG vs the best of MDS / SMACOF / weighted SMACOF at every "
               f"wall count > 0 ({what})",
               "IAG with the Wall Remover beats standard EDM completion under NLOS",
               all(wins.values()), f"wins at {sum(wins.values())} of {len(wins)} wall counts",
               why_not="a completion method is as good or better somewhere",
               anchor="ftm-sweeps",
               profile_sensitive=("checked at every wall count of a sweep that is shorter "
                                  "than the paper's under smoke/quick, each RMSE a mean over "
                                  "fewer random floor plans (n_plans)"))

# 5. The same on real ranges, per scene (recorded whatever the outcome).
for scene, row in real_piv.iterrows():
    best_c = np.nanmin([row[m] for m in completion])
    C.relation("Sect. 5.2 (real ranges)", f"phone RMSE, WR+IAG vs best completion, {scene}",
               "IAG with the Wall Remover beats standard EDM completion",
               bool(row["WR+IAG"] < best_c), f"{row['WR+IAG']:.2f} m vs {best_c:.2f} m",
               why_not="standard completion is better here", anchor="ftm-real",
               profile_sensitive=("the real RTT network is cut to real_max_points points "
                                  "under smoke/quick (all points under paper); the methods "
                                  "can rank differently on the full network"))

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
