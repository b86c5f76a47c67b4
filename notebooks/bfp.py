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
# (bfp)=
# # Reproduce binary fingerprinting with uncertainty regions
#
# **Paper D** — M. Omeñaca Muro, M. Mizmizi, L. Reggiani, *Binary Fingerprinting-Based Positioning
# Systems with Uncertainty Regions*, IPIN 2019 (WiP), CEUR-WS Vol-2498, paper short40
# ({cite}`omenaca2019binary`; layouts from {cite}`mizmizi2016design`, {cite}`mizmizi2017binary`, {cite}`mizmizi2019ijdsn`).
#
# **What this chapter regenerates.** Table 1 (system parameters, reconstructed), Fig. 2 (ideal vs
# real binary map, 2×2), Fig. 3a (RMSE vs the uncertainty region Δ, FCD and OCD), Fig. 3b (spatial
# distribution of the error, OCD), Fig. 4 and Fig. 5a (4×4 layout: RMSE vs Δ and vs σ_W), Fig. 5b
# (RMSE vs area side), and — beyond the paper — the memory and search-time advantage that the
# paper claims but does not measure.
#
# **What differs from the paper, plainly.**
# * The paper's Table 1 is missing from our copy and could not be recovered from its references
#   (Mizmizi & Reggiani, IPIN 2016/2017, IJDSN 2019; Omeñaca Muro's 2018 thesis). Every value in
#   our Table 1 says where it comes from; most are **our choices**, the radio ones taken from
#   3GPP TR 38.901 (indoor hotspot, 2.4 GHz).
# * The 4×4 layout's beacons are our reconstruction (6 beacons, one per straight border, a
#   thermometer code per axis), because the IPIN 2017 paper that defines it was unobtainable.
# * The paper gives no RMSE numbers, only curves and statements, so our claims test its
#   *statements* (relations) with our numbers; the figures cannot be compared value by value.
# * The paper used MATLAB; this is NumPy/SciPy with a numba bit-packed Hamming search.
#
# **What you need.** Nothing but this package: the chapter simulates its radio maps. A quick run
# takes about a minute on two cores.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | paper: Monte-Carlo runs and sweep sizes (see the table below)
seed = 0  # seeds every realisation of LoS state, shadowing and online noise
output_dir = "."  # set by the runner: tables, figures and claims are written here
sigma_w = 2.0  # online measurement-noise std σ_W [dB] for Fig. 2/3b and Fig. 5b (at least 0)
delta = 2.0  # uncertainty region Δ [dB] shown beside binary BFP in Figs. 3b, 5a, 5b (at least 0)
side_m = 20.0  # side of the square area [m] (positive)
rho_m = 0.5  # fingerprint grid resolution ρ [m] (must divide side_m)
sigma_sh_db = 4.0  # shadowing std σ_SH [dB] (at least 0)
d_sh_m = 6.0  # shadowing decorrelation distance d_SH [m] (at least 0)
n_mc = 0  # Monte-Carlo realisations per point; 0 takes the profile value (at least 0)

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

import ipsbook
from ipsbook import plotting, profiles
from ipsbook.methods import bfp
from ipsbook.methods.hamming import pack_bits, search_ties
from ipsbook.outputs import RunOutput

ipsbook.setup(seed)
pd.set_option("display.max_colwidth", None)
bfp.check_nonneg("sigma_w", sigma_w, "dB")
bfp.check_nonneg("delta", delta, "dB")
cfg = profiles.resolve("bfp", profile, n_mc=n_mc or None)
scenario = bfp.Scenario(side_m=side_m, rho_m=rho_m, test_step_m=cfg.test_step_m,
                        sigma_sh_db=sigma_sh_db, d_sh_m=d_sh_m)
params = dict(seed=seed, sigma_w=sigma_w, delta=delta, side_m=side_m, rho_m=rho_m,
              sigma_sh_db=sigma_sh_db, d_sh_m=d_sh_m, n_mc=cfg.n_mc)
out = RunOutput(output_dir, chapter="bfp", paper="D", cfg=cfg, params=params)
sigma_ws = tuple(sorted(set(cfg.sigma_ws_db) | {float(sigma_w)}))
deltas = tuple(sorted(set(cfg.deltas_db) | {0.0, float(delta)}))
plotting.use_style()
display(Markdown(f"**Profile: `{profile}`** — {cfg.n_mc} Monte-Carlo realisations per point, "
                 f"test grid {cfg.test_step_m} m, σ_W ∈ {{{', '.join(f'{s:g}' for s in sigma_ws)}}} dB, "
                 f"Δ ∈ {{{', '.join(f'{d:g}' for d in deltas)}}} dB."))
profiles.table("bfp")

# %% [markdown]
# (bfp-table1)=
# ## Table 1 — system parameters (reconstructed)
#
# "chosen" marks a value the paper does not give. The radio model is eq. 1 of the paper,
# `RSSI = A − L0 − 10 η log10(d/d0) + L_SH`, with L0 and η switching between line of sight and
# not; the LoS state follows 3GPP's indoor LoS probability, drawn so that nearby points share it.
# Shadowing L_SH is Gaussian in dB with Gudmundson's exponential correlation `exp(−d/d_SH)`
# ({cite}`gudmundson1991correlation`), drawn independently for each beacon. Online measurements
# add W ~ N(0, σ_W²) (eq. 2).

# %% tags=["nbval-check-output"]
t1 = out.table(bfp.table1(scenario, sigma_ws, deltas, cfg.n_mc), "table1")
t1

# %% [markdown]
# (bfp-fig2)=
# ## Fig. 2 — ideal vs real binary map (2×2)
#
# Two beacons, each splitting the square along one designed border; their thresholds
# RSSI_REF,i are the mean RSSI along that border (Sect. 5). Left: the designed square cells
# (Forced Cell Design). Right: what eq. 4 really gives on one realisation of the radio map, with
# the OCD centres (centroids of the real regions) as white crosses.

# %%
layout2 = bfp.make_layout("2x2", scenario.side_m)
real2 = bfp.realise(scenario, layout2, np.random.default_rng([seed, 10**6]))
grid = scenario.test_grid
ideal_code = layout2.ideal_bits(grid.points) @ (1 << np.arange(layout2.n_beacons))
real_code = real2.real_bits @ (1 << np.arange(layout2.n_beacons))
fig, axes = plotting.subplots(1, 2, figsize=(9, 4.2), sharey=True)
cmap = plt.matplotlib.colors.ListedColormap(plotting.PALETTE[:4])
ext = (0, scenario.side_m, 0, scenario.side_m)
for ax, code, title in ((axes[0], ideal_code, "ideal (designed) cells"),
                        (axes[1], real_code, f"real binary map, σ_SH = {sigma_sh_db:g} dB")):
    ax.imshow(code.reshape(grid.shape), origin="lower", extent=ext, cmap=cmap, vmin=-0.5,
              vmax=3.5, interpolation="nearest")
    ax.plot(*layout2.beacons.T, "k^", ms=9, clip_on=False, label="beacons")
    for b in layout2.borders:
        (ax.axvline if b.axis == 0 else ax.axhline)(b.pos, color="k", lw=1, ls="--")
    plotting.labelled(ax, "x [m]", "y [m]", title)
axes[1].plot(*real2.codebooks["OCD"][1].T, "wx", ms=10, mew=2, label="OCD centres")
fig.legend(*axes[1].get_legend_handles_labels(), loc="lower center", ncol=2,
           bbox_to_anchor=(0.5, -0.06))
agree = float((real2.real_bits == layout2.ideal_bits(grid.points)).all(axis=1).mean())
out.figure(fig, "fig2_binary_maps")
plt.show()
print(f"points whose real code equals the designed one: {agree:.1%}")

# %% [markdown]
# ## Monte-Carlo study
#
# Every realisation draws new LoS states and shadowing (so new thresholds and OCD centres) and
# one online-noise draw that is scaled by each σ_W; the same realisation serves every σ_W, Δ
# and design (common random numbers), so the *differences* between curves are not Monte-Carlo
# noise. RMSE pools all test points (a uniform grid over the whole area) and realisations; bands
# are 95% percentile-bootstrap intervals over realisations.

# %%
sim = pd.concat([bfp.simulate(scenario, name, sigma_ws, deltas, cfg.n_mc, seed)
                 for name in ("2x2", "4x4")], ignore_index=True)
rmse = bfp.rmse_table(sim, ["layout", "method", "design", "sigma_w_db", "delta_db"], seed=seed)
out.table(rmse, "rmse_by_layout_sigma_delta")
best = out.table(bfp.best_delta(rmse), "best_delta")


def curve(layout, method, design=None, sigma=None, delta_db=None):
    """Rows of the RMSE table for one curve."""
    sel = (rmse.layout == layout) & (rmse.method == method)
    if design is not None:
        sel &= rmse.design == design
    if sigma is not None:
        sel &= np.isclose(rmse.sigma_w_db, sigma)
    if delta_db is not None:
        sel &= np.isclose(rmse.delta_db, delta_db)
    return rmse[sel]


def rmse_vs_delta(ax, layout, sigmas):
    """Fig. 3a / Fig. 4: RMSE vs Δ, FCD solid and OCD dashed, one colour per σ_W, FP dotted."""
    for k, s in enumerate(sigmas):
        color = plotting.PALETTE[k % len(plotting.PALETTE)]
        for design, ls in (("FCD", "-"), ("OCD", "--")):
            c = curve(layout, "BFP", design, sigma=s)
            plotting.band(ax, c.delta_db, c.rmse_m, c.ci_low_m, c.ci_high_m, color=color,
                          linestyle=ls, label=f"{design}, σ_W = {s:g} dB")
        ax.axhline(curve(layout, "FP", sigma=s).rmse_m.iloc[0], color=color, ls=":", lw=1)
    plotting.labelled(ax, "uncertainty region Δ [dB]", "RMSE [m]")
    ax.legend(ncol=2, fontsize=7)


shown = tuple(s for s in sigma_ws if s in (0.0, 2.0, 4.0, 6.0)) or sigma_ws

# %% [markdown]
# (bfp-fig3a)=
# ## Fig. 3a — RMSE vs Δ, 2×2 layout, FCD and OCD
#
# Solid: Forced Cell Design; dashed: Optimized Cell Design; dotted: full-resolution NN
# fingerprinting (FP) at the same σ_W.

# %%
fig, ax = plotting.subplots(figsize=(7, 4.5))
rmse_vs_delta(ax, "2x2", shown)
ax.set_title(f"2×2 layout, side {side_m:g} m ({cfg.n_mc} realisations)")
out.figure(fig, "fig3a_rmse_vs_delta_2x2")
plt.show()

# %% [markdown]
# (bfp-fig3b)=
# ## Fig. 3b — spatial distribution of the error (OCD, 2×2)
#
# Mean error at each test point over online-noise draws, on the realisation of Fig. 2, at
# σ_W = `sigma_w`: binary labelling (Δ = 0) and the ternary one (Δ = `delta`). Dashed white:
# the designed borders; thin black: the real borders of the binary map (the OCD cells). The
# paper's observation: the borders between cells are the main sources of error.

# %%
maps = {d: bfp.error_map(real2, sigma_w, d, "OCD", cfg.n_noise, seed) for d in (0.0, delta)}
vmax = max(float(m.max()) for m in maps.values())
fig, axes = plotting.subplots(1, 2, figsize=(9, 4.0), sharey=True)
for ax, (d, m) in zip(axes, maps.items()):
    im = ax.imshow(m.reshape(grid.shape), origin="lower", extent=ext, cmap=plotting.SEQUENTIAL,
                   vmin=0, vmax=vmax)
    for b in layout2.borders:
        (ax.axvline if b.axis == 0 else ax.axhline)(b.pos, color="w", lw=0.8, ls="--")
    ax.contour(grid.xs, grid.ys, real_code.reshape(grid.shape), levels=[0.5, 1.5, 2.5],
               colors="k", linewidths=0.5)
    plotting.labelled(ax, "x [m]", "y [m]", f"OCD, Δ = {d:g} dB, σ_W = {sigma_w:g} dB")
fig.colorbar(im, ax=axes, label="mean error [m]")
out.figure(fig, "fig3b_error_map_ocd")
plt.show()
# Is the error concentrated near the borders of the real binary map (within 1 m)?
near_border = bfp.distance_to_real_border(real2) <= 1.0
border_err = pd.DataFrame([
    {"Δ [dB]": d, "share of area within 1 m of a real border": near_border.mean(),
     "mean error near borders [m]": m[near_border].mean(),
     "mean error elsewhere [m]": m[~near_border].mean(),
     "share of squared error near borders": (m[near_border] ** 2).sum() / (m**2).sum()}
    for d, m in maps.items()])
out.table(border_err, "fig3b_border_error")

# %% [markdown]
# (bfp-fig4)=
# ## Fig. 4 — RMSE vs Δ, 4×4 layout, FCD (solid) and OCD (dashed)

# %%
fig, ax = plotting.subplots(figsize=(7, 4.5))
rmse_vs_delta(ax, "4x4", shown)
ax.set_title(f"4×4 layout, side {side_m:g} m ({cfg.n_mc} realisations)")
out.figure(fig, "fig4_rmse_vs_delta_4x4")
plt.show()

# %% [markdown]
# (bfp-fig5a)=
# ## Fig. 5a — RMSE vs σ_W, 4×4 layout
#
# FP, binary BFP (Δ = 0), ternary BFP with Δ = `delta` and with the best Δ at each σ_W;
# FCD solid, OCD dashed.

# %%
fig, ax = plotting.subplots(figsize=(7, 4.5))
fp4 = curve("4x4", "FP")
plotting.band(ax, fp4.sigma_w_db, fp4.rmse_m, fp4.ci_low_m, fp4.ci_high_m, color="k",
              label="FP (NN, full RSSI)")
for design, ls in (("FCD", "-"), ("OCD", "--")):
    for k, (d, name) in enumerate(((0.0, "BFP Δ = 0"), (delta, f"BFP Δ = {delta:g} dB"))):
        c = curve("4x4", "BFP", design, delta_db=d)
        plotting.band(ax, c.sigma_w_db, c.rmse_m, c.ci_low_m, c.ci_high_m, linestyle=ls,
                      color=plotting.PALETTE[k], label=f"{name}, {design}")
    b = best[(best.layout == "4x4") & (best.design == design)]
    ax.plot(b.sigma_w_db, b.rmse_m, ls=ls, marker="s", ms=3, color=plotting.PALETTE[2],
            label=f"BFP best Δ, {design}")
plotting.labelled(ax, "measurement error σ_W [dB]", "RMSE [m]",
                  f"4×4 layout, side {side_m:g} m ({cfg.n_mc} realisations)")
ax.legend(ncol=2, fontsize=7)
out.figure(fig, "fig5a_rmse_vs_sigma_4x4")
plt.show()
table5a = rmse[(rmse.layout == "4x4") & ((rmse.method == "FP") | rmse.delta_db.isin([0.0, delta]))]
out.table(table5a, "fig5a_rmse_vs_sigma_4x4")
best[best.layout == "4x4"].pivot(index="sigma_w_db", columns="design", values="delta_db")

# %% [markdown]
# (bfp-fig5b)=
# ## Fig. 5b — RMSE vs the side of the area (4×4, σ_W = `sigma_w`)

# %%
sides = tuple(cfg.area_sides_m)
by_side = pd.concat([bfp.simulate(scenario.with_side(s), "4x4", (sigma_w,), (0.0, delta),
                                  cfg.n_mc, seed) for s in sides], ignore_index=True)
rmse_side = out.table(bfp.rmse_table(by_side, ["side_m", "method", "design", "delta_db"],
                                     seed=seed), "fig5b_rmse_vs_side")
fig, ax = plotting.subplots(figsize=(7, 4.5))
c = rmse_side[rmse_side.method == "FP"]
plotting.band(ax, c.side_m, c.rmse_m, c.ci_low_m, c.ci_high_m, color="k", label="FP")
for design, ls in (("FCD", "-"), ("OCD", "--")):
    for k, d in enumerate((0.0, delta)):
        c = rmse_side[(rmse_side.design == design) & np.isclose(rmse_side.delta_db, d)]
        plotting.band(ax, c.side_m, c.rmse_m, c.ci_low_m, c.ci_high_m, linestyle=ls,
                      color=plotting.PALETTE[k], label=f"BFP Δ = {d:g} dB, {design}")
plotting.labelled(ax, "side of the square area [m]", "RMSE [m]",
                  f"4×4 layout, σ_W = {sigma_w:g} dB ({cfg.n_mc} realisations)")
ax.legend(fontsize=7)
out.figure(fig, "fig5b_rmse_vs_side")
plt.show()

# %% [markdown]
# (bfp-footprint)=
# ## Beyond the paper — memory and search time
#
# The paper motivates BFP by its smaller radio map and search but does not measure either. Bits
# per stored fingerprint and map sizes follow from the layout (exact); the query times below are
# measured on this machine for the chapter's own maps (all test points as queries, σ_W =
# `sigma_w`) and vary from run to run. `make bench` measures the search at scale (≥ 100,000
# cells × 64 beacons) against NumPy, scikit-learn and faiss.

# %% tags=["nbval-check-output"]
foot = out.table(pd.DataFrame([bfp.footprint(scenario, name) for name in ("2x2", "4x4")]),
                 "footprint")
foot

# %%
rng = np.random.default_rng([seed, 2])
timings = []
for name, real in (("2x2", real2),
                   ("4x4", bfp.realise(scenario, bfp.make_layout("4x4", side_m), rng))):
    meas = (real.rssi + sigma_w * rng.standard_normal(real.rssi.shape)).T
    fpnn = bfp.FingerprintNN(real.fp_map, grid.points[real.fp_index])
    codes, centres = real.codebooks["OCD"]
    bits, mask = bfp.ternary_labels(meas, real.ref, delta)
    packed = (pack_bits(codes), pack_bits(bits), pack_bits(mask))
    search_ties(*packed, centres)  # compile / warm up
    t0 = time.perf_counter(); fpnn.locate(meas); t_fp = time.perf_counter() - t0
    t0 = time.perf_counter(); search_ties(*packed, centres); t_bfp = time.perf_counter() - t0
    timings.append({"layout": name, "queries": len(meas), "FP k-d tree [ms]": 1e3 * t_fp,
                    "BFP packed search [ms]": 1e3 * t_bfp, "speed-up": t_fp / t_bfp})
pd.DataFrame(timings).round(3)

# %% [markdown]
# (bfp-claims)=
# ## Claims — the paper's statements against our numbers
#
# Each statement of Sect. 6 is turned into a test on our RMSE table, with the criterion fixed
# before looking at the numbers; none is tuned. The paper reports no RMSE values, so every claim
# is a relation.

# %%
C = out.claims

def rm(layout, design, s, d):
    return float(curve(layout, "BFP", design, sigma=s, delta_db=d).rmse_m.iloc[0])


def fp(layout, s):
    return float(curve(layout, "FP", sigma=s).rmse_m.iloc[0])


# 1. Fig. 5a: ternary Δ = 2 dB beats binary at every σ_W (4×4), both designs.
diffs = {(g, s): rm("4x4", g, s, 2.0) - rm("4x4", g, s, 0.0) for g in bfp.DESIGNS
         for s in sigma_ws} if 2.0 in deltas else {}
worst = max(diffs.values()) if diffs else float("nan")
C.relation("Fig. 5a", "RMSE(Δ = 2 dB) − RMSE(Δ = 0), 4×4, every σ_W, FCD and OCD",
           "ternary Δ = 2 dB < binary BFP at every σ_W", bool(diffs) and worst < 0,
           f"largest difference {worst:+.3f} m", why_not="Δ = 2 dB is not better everywhere",
           anchor="bfp-fig5a", profile_sensitive=(
               "checked at every σ_W of the profile's sweep (shorter than the paper's under "
               "smoke/quick), each RMSE a mean over fewer Monte-Carlo realisations (n_mc); "
               "small differences can change sign"))

# 2. Fig. 5a: it recovers most (> 50 %) of the gap between binary BFP and FP.
recov = []
for g in bfp.DESIGNS:
    for s in sigma_ws:
        gap = rm("4x4", g, s, 0.0) - fp("4x4", s)
        if gap > 0 and 2.0 in deltas:
            recov.append((rm("4x4", g, s, 0.0) - rm("4x4", g, s, 2.0)) / gap)
C.relation("Fig. 5a", "share of the BFP(Δ = 0) − FP gap recovered by Δ = 2 dB, 4×4 (min over σ_W, designs)",
           "recovers most of the gap to FP at any σ_W (> 50 %)",
           bool(recov) and min(recov) > 0.5,
           f"recovered {min(recov):.0%} (worst) to {max(recov):.0%} (best)" if recov else "n/a",
           why_not="less than half of the gap is recovered", anchor="bfp-fig5a",
           profile_sensitive=("worst case over the profile's σ_W sweep (shorter than the "
                              "paper's under smoke/quick), each RMSE a mean over fewer "
                              "Monte-Carlo realisations (n_mc)"))

# 3. Figs. 3a/5a: the optimal Δ grows with σ_W (Spearman ρ > 0, and larger at the top σ_W).
from scipy.stats import spearmanr

trend = {}
for (lay, g), grp in best.groupby(["layout", "design"]):
    rho = spearmanr(grp.sigma_w_db, grp.delta_db).statistic if grp.delta_db.nunique() > 1 else 0.0
    trend[(lay, g)] = (rho, grp.delta_db.iloc[-1] - grp.delta_db.iloc[0])
grows = all(r > 0 and d > 0 for r, d in trend.values())
edge = best[best.at_sweep_edge]
edge_note = (f" (optimum at the largest Δ swept for {len(edge)} of {len(best)} cases)"
             if len(edge) else "")
C.relation("Figs. 3a, 5a", "optimal Δ vs σ_W (Spearman ρ per layout and design)",
           "the optimal Δ grows with σ_W", grows,
           "; ".join(f"{l} {g}: ρ = {r:.2f}" for (l, g), (r, _) in trend.items()) + edge_note,
           why_not="the optimal Δ does not increase with σ_W in every case", anchor="bfp-fig5a",
           profile_sensitive=("Δ grid and σ_W sweep are shorter than the paper's under "
                              "smoke/quick; the optimum is picked on that grid (it can sit at "
                              "its edge), from fewer Monte-Carlo realisations (n_mc)"))

# 4. Fig. 5a: the optimal Δ is around 2 σ_W (slope of Δ* on σ_W, through the origin, σ_W > 0).
for g in bfp.DESIGNS:
    grp = best[(best.layout == "4x4") & (best.design == g) & (best.sigma_w_db > 0)]
    slope = float((grp.sigma_w_db * grp.delta_db).sum() / (grp.sigma_w_db**2).sum())
    C.value("Fig. 5a", f"optimal Δ / σ_W (least-squares slope), 4×4, {g}", 2.0, slope,
            abs_tol=0.5, anchor="bfp-fig5a",
            profile_sensitive=("fitted to optima picked on the profile's Δ grid over its σ_W "
                               "sweep, both shorter than the paper's under smoke/quick; an "
                               "optimum capped at the grid's edge biases the slope"))

# 5. Fig. 3a: OCD <= FCD (2×2), and the largest gap is at σ_W >= 4 dB.
b2 = curve("2x2", "BFP")
piv = b2.pivot_table(index=["sigma_w_db", "delta_db"], columns="design", values="rmse_m")
gap = (piv["FCD"] - piv["OCD"])
C.relation("Fig. 3a", "RMSE(FCD) − RMSE(OCD), 2×2, every σ_W and Δ", "OCD ≤ FCD",
           bool((gap >= 0).all()), f"min {gap.min():+.3f} m, max {gap.max():+.3f} m",
           why_not="FCD beats OCD somewhere", anchor="bfp-fig3a",
           profile_sensitive=("checked at every point of the profile's σ_W × Δ grid (smaller "
                              "than the paper's under smoke/quick); near-ties can flip sign "
                              "with fewer Monte-Carlo realisations (n_mc)"))
gap_s = gap.groupby(level="sigma_w_db").mean()
C.relation("Fig. 3a", "σ_W of the largest mean FCD − OCD gap, 2×2",
           "largest OCD–FCD gap at σ_W ≥ 4 dB", float(gap_s.idxmax()) >= 4.0,
           f"largest at σ_W = {gap_s.idxmax():g} dB ({gap_s.max():.3f} m)",
           why_not="the gap peaks below 4 dB", anchor="bfp-fig3a",
           profile_sensitive=("the peak is sought over the profile's σ_W sweep and Δ grid "
                              "(shorter than the paper's under smoke/quick), with fewer "
                              "Monte-Carlo realisations (n_mc) per point"))

# 6. Fig. 3a: with 2 beacons FP is close to BFP(Δ = 0) — "close" fixed as within 20 % of the
#    larger of the two.
rel = max(abs(rm("2x2", g, s, 0.0) - fp("2x2", s)) / max(rm("2x2", g, s, 0.0), fp("2x2", s))
          for g in bfp.DESIGNS for s in sigma_ws)
C.relation("Fig. 3a", "max |RMSE(BFP Δ = 0) − RMSE(FP)| / max of the two, 2×2, over σ_W and designs",
           "FP ≈ BFP(Δ = 0) with 2 beacons (within 20 %)", rel <= 0.2, f"{rel:.0%}",
           why_not="FP and binary BFP differ by more than 20 %", anchor="bfp-fig3a",
           profile_sensitive=("a maximum over the profile's σ_W sweep (shorter than the "
                              "paper's under smoke/quick), each RMSE a mean over fewer "
                              "Monte-Carlo realisations (n_mc)"))

# 7. Fig. 5b: RMSE grows with the area side (every curve increasing).
mono = {k: bool(np.all(np.diff(g.sort_values("side_m").rmse_m) > 0))
        for k, g in rmse_side.groupby(["method", "design", "delta_db"], dropna=False)}
C.relation("Fig. 5b", "RMSE vs side, every method (4×4)", "RMSE grows with the area side",
           all(mono.values()), f"{sum(mono.values())} of {len(mono)} curves increase",
           why_not="some curve does not increase with the side", anchor="bfp-fig5b")

# 8. Fig. 3b: the border regions are the main sources of error (mean error near a real
#    border, within 1 m, larger than elsewhere), OCD, Δ = 0.
e_near, e_far = border_err.iloc[0][["mean error near borders [m]", "mean error elsewhere [m]"]]
C.relation("Fig. 3b", "mean error within 1 m of a real cell border vs elsewhere (OCD, Δ = 0)",
           "border regions are the main sources of error", e_near > e_far,
           f"{e_near:.2f} m near borders vs {e_far:.2f} m elsewhere",
           why_not="the error is not larger near the borders", anchor="bfp-fig3b")

# 9. Beyond the paper: the smaller radio map (exact, from the layouts).
f4 = foot.set_index("layout").loc["4x4"]
C.relation("Sect. 1, 7 (not measured in the paper)", "radio-map size, 4×4: BFP vs FP (float32)",
           "BFP shrinks the radio map", f4.bfp_map_bytes_packed < f4.fp_map_bytes_float32,
           f"{f4.bfp_map_bytes_packed} B vs {f4.fp_map_bytes_float32} B", anchor="bfp-footprint")

# %% [markdown]
# ## Scorecard for this chapter

# %% tags=["nbval-check-output"]
scorecard = out.finish()
scorecard[["artefact", "quantity", "paper_value", "ours", "status"]]
