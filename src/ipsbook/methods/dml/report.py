"""Paper A's chapter, assembled: the tables it shows and the claims it records (one home).

The notebook ``notebooks/dml.py`` tells the story; the functions here build what each of its
sections shows from the package's parts, in the order the chapter runs them:

* **Study 1** — :func:`rank_metrics`: each metric at its best representation, ranked by mean
  correlation over the scenarios (the ranked table; the heatmap is :mod:`.plots`).
* **Study 2** — :func:`pair_sample` (the classical-metric features of sampled pairs of one
  scenario), :func:`gp_training_set` (the UJIIndoorLoc floor scenarios the GP learns from),
  :func:`generalisation` (the meta-metric against the best single metric per scenario) and
  :func:`generalisation_intervals` (the paired-bootstrap intervals on the unseen datasets).
* **Study 3** — :func:`heard_only`, :func:`positions_3d`, :func:`reference_points`,
  :func:`train_embeddings` (log-ratio and the triplet baselines) and :func:`study3_columns` (the
  distances whose correlations the Study 3 table compares).
* **Positioning** — :func:`knn_methods` (the four distances plugged into kNN) and
  :func:`positioning_set` (one test set's table, per-query errors and tie-aware ranks).
* **Claims** — :func:`study1_claims`, :func:`study2_claims`, :func:`positioning_claim` and
  :func:`study3_claims` record the talk's findings against our numbers on the chapter's
  ``ClaimSet`` (passed in; this module never imports the book machinery). Each claim's rule is
  stated in its ``protocol``.

The chapter's choices (pair sampling, physical distance, GP settings) are documented where they
live: :mod:`.scenarios`, :mod:`.distances`, :mod:`.meta`, :mod:`.train`, :mod:`.compare`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from . import compare, distances, positioning, representations, train

__all__ = [
    "TALK",
    "generalisation",
    "generalisation_intervals",
    "gp_training_set",
    "heard_only",
    "knn_methods",
    "meta_metric_note",
    "pair_sample",
    "positioning_claim",
    "positioning_set",
    "positions_3d",
    "rank_metrics",
    "reference_points",
    "study1_claims",
    "study2_claims",
    "study3_claims",
    "study3_columns",
    "train_embeddings",
]

#: How the claims cite the talk (the slide's title follows).
TALK = "talk (UCL, 2022), slide"


# --- Study 1 -------------------------------------------------------------------------------


def rank_metrics(study: pd.DataFrame, correlation: str) -> tuple[pd.DataFrame, pd.Series]:
    """Study 1's ranked table: each metric at its best representation (the one with the highest
    mean ``correlation`` over the scenarios), ranked by that mean, best first.

    ``study``: :func:`.scenarios.correlation_study`'s rows (``metric, representation,
    scenario, <correlation>``). Returns the table (``rank, metric, representation, <correlation>
    (mean), min, max, std`` over the scenarios) and the best representation per metric."""
    if correlation not in compare.CORRELATIONS:
        raise ValueError(f"correlation={correlation!r} is not known; allowed: "
                         f"{', '.join(map(repr, compare.CORRELATIONS))}")
    mean_rep = study.groupby(["metric", "representation"])[correlation].mean()
    best_rep = mean_rep.groupby("metric").idxmax().map(lambda t: t[1])
    ranked = (mean_rep.reset_index()
              .assign(best=lambda d: d.representation == d.metric.map(best_rep))
              .query("best").drop(columns="best")
              .merge(study.groupby(["metric", "representation"])[correlation]
                     .agg(["min", "max", "std"]).reset_index(), on=["metric", "representation"])
              .sort_values(correlation, ascending=False).reset_index(drop=True))
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    return ranked, best_rep


# --- Study 2 -------------------------------------------------------------------------------


def pair_sample(sc, metrics: Sequence[str], representation: str, n_pairs: int,
                rng_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Classical-metric features (``(n_pairs, len(metrics))``, at ``representation``) and
    physical distances of sampled pairs of one scenario ``sc``; the pairs are drawn from a
    generator seeded by ``(rng_seed, len(sc))``, so the same call gives the same pairs."""
    i, j = distances.sample_pairs(len(sc), n_pairs, np.random.default_rng([rng_seed, len(sc)]))
    F = distances.pair_features(sc.rss, sc.rss, list(metrics), representation, pairs_i=i,
                                pairs_j=j, min_rss=sc.min_rss)
    return F, sc.physical_distance(i, j)


def gp_training_set(scs: Sequence[Any], metrics: Sequence[str], representation: str,
                    max_pairs: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the GP learns from: pairs of the UJIIndoorLoc floor scenarios, ``max_pairs`` in all
    (at least 50 per scenario), as features, physical distances and scenario names (the
    groups within which the fitness correlates)."""
    train_scs = [s for s in scs if s.dataset == "ujiindoorloc" and s.granularity == "floor"]
    if not train_scs:
        raise ValueError("scs has no UJIIndoorLoc floor scenario: the GP trains on those "
                         f"(scenarios given: {', '.join(s.name for s in scs) or 'none'})")
    per = max(50, max_pairs // max(1, len(train_scs)))
    parts = [pair_sample(s, metrics, representation, per, seed) for s in train_scs]
    F_tr = np.vstack([p[0] for p in parts])
    y_tr = np.concatenate([p[1] for p in parts])
    g_tr = np.concatenate([[s.name] * len(p[1]) for s, p in zip(train_scs, parts)])
    return F_tr, y_tr, g_tr


def meta_metric_note(mm, representation: str) -> str:
    """Markdown naming the evolved expression, and saying so when it uses one metric only."""
    single_metric = mm.single_metric
    return (f"Learned meta-metric (features: the 12 metrics on the `{representation}` "
            f"representation):\n\n`{mm.expression}`" + (
                f"\n\nIt uses **one** existing metric only (`{single_metric}`): no "
                "combination, so the Study-2 correlation claims below are not comparable."
                if single_metric else ""))


def generalisation(scs: Sequence[Any], mm, metrics: Sequence[str], representation: str,
                   max_pairs: int, seed: int, correlation: str):
    """Study 2's table: per scenario (UJIIndoorLoc floors, where the GP trained, and every
    scenario of the unseen datasets), the meta-metric's ``correlation`` with physical distance
    beside the best single metric's on the same ``max_pairs`` pairs (drawn with ``seed``).

    Returns the table (``scenario, dataset, seen in training, meta-metric, best single metric,
    best single metric name, optimal``) and, for the unseen scenarios, the pairs behind their
    intervals: ``(scenario, meta-metric values, best single metric values, physical
    distances)`` each."""
    metrics = list(metrics)
    rows, unseen_pairs = [], []
    for sc in scs:
        if sc.dataset == "ujiindoorloc" and sc.granularity != "floor":
            continue
        F, y = pair_sample(sc, metrics, representation, max_pairs, seed)
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
    return pd.DataFrame(rows), unseen_pairs


def generalisation_intervals(unseen_pairs: Sequence[tuple], *, correlation: str, n_boot: int,
                             seed: int) -> dict[str, Any]:
    """Paired-bootstrap intervals over the unseen scenarios' pairs (resampled within each
    scenario): ``"vs best single"`` (ρ_meta − ρ_best) and ``"vs midpoint"`` (ρ_meta − (ρ_best +
    1)/2), from :func:`generalisation`'s pairs."""
    if not unseen_pairs:
        raise ValueError("unseen_pairs is empty: no unseen scenario to compare on")
    _, gp_point, gp_boot = compare.bootstrap_correlations(
        np.column_stack([np.concatenate([u[1] for u in unseen_pairs]),
                         np.concatenate([u[2] for u in unseen_pairs])]),
        np.concatenate([u[3] for u in unseen_pairs]),
        groups=np.concatenate([[u[0]] * len(u[3]) for u in unseen_pairs]),
        kind=correlation, n_boot=n_boot, seed=seed)
    n_unseen = sum(len(u[3]) for u in unseen_pairs)
    return {
        "vs best single": compare.contrast_interval(gp_point, gp_boot, (1.0, -1.0),
                                                    n_items=n_unseen, label="Δ"),
        "vs midpoint": compare.contrast_interval(gp_point, gp_boot, (1.0, -0.5), const=-0.5,
                                                 n_items=n_unseen, label="ρ − midpoint"),
    }


# --- Study 3 -------------------------------------------------------------------------------


def heard_only(split):
    """Drop fingerprints with no AP heard (76 in UJIIndoorLoc training): no distance to them
    means anything, for any metric. ``split``: a named tuple of arrays (``None`` kept)."""
    keep = representations.heard(split.rss).any(axis=1)
    return type(split)(*(None if a is None else np.asarray(a)[keep] for a in split))


def positions_3d(split, floor_height: float) -> np.ndarray:
    """``(x, y, floor × floor_height)`` of every fingerprint of ``split`` (``positions``,
    ``floor``): the physical positions Study 3's distances are measured between."""
    return np.column_stack([split.positions, split.floor * floor_height])


def reference_points(P: np.ndarray) -> np.ndarray:
    """One group id per row of ``P``: its 1 m cell (per floor, when ``P`` carries the floor's
    height), so that a reference point goes whole to one side of an early-stopping split."""
    return np.unique(np.round(P).astype(np.int64), axis=0, return_inverse=True)[1]


def train_embeddings(X: np.ndarray, P: np.ndarray, thresholds_m: Sequence[float],
                     **train_kw) -> dict[str, tuple[Any, Any]]:
    """Study 3's networks on the same data: the log-ratio embedding (continuous supervision)
    first, then one triplet embedding per near/far threshold in ``thresholds_m``, each with
    :func:`.train.train_embedding` (``train_kw``: seed, progress and the profile's sizes) and
    the reference points of ``P`` as its early-stopping groups. Returns name → (model,
    history), in training order."""
    fits = {"log-ratio": train.train_embedding(X, P, loss="log_ratio",
                                               stop_groups=reference_points(P), **train_kw)}
    for t in thresholds_m:
        fits[f"triplet @ {t:g} m"] = train.train_embedding(
            X, P, loss="triplet", threshold_m=t, stop_groups=reference_points(P), **train_kw)
    return fits


def study3_columns(classical: pd.DataFrame, classical_d: Mapping[tuple[str, str], np.ndarray],
                   study1_best: tuple[str, str], models: Mapping[str, Any], X: np.ndarray,
                   i: np.ndarray, j: np.ndarray) -> tuple[dict[str, np.ndarray], str]:
    """The distances of the validation pairs ``(i, j)`` that Study 3 correlates with physical
    distance: the best classical metric on these pairs (the baseline, first), Study 1's winner
    ``study1_best`` = (metric, representation) when it differs, Euclidean on raw RSS (an extra
    row) and every embedding of ``models`` (applied to ``X``). ``classical``, ``classical_d``:
    :func:`.compare.pair_correlations` on the same pairs. Returns the columns and the
    baseline's name."""
    cl_best = (classical.metric.iloc[0], classical.representation.iloc[0])
    base = f"best classical on these pairs: {cl_best[0]} ({cl_best[1]})"
    columns = {base: classical_d[cl_best]}
    if tuple(study1_best) != cl_best:
        columns[f"Study 1's best: {study1_best[0]} ({study1_best[1]})"] = classical_d[
            tuple(study1_best)]
    columns["Euclidean on RSS (raw) [extra]"] = classical_d[("euclidean", "raw")]
    for name, model in models.items():
        E = train.embed(model, X)
        columns[name] = np.linalg.norm(E[i] - E[j], axis=1)
    return columns, base


# --- Positioning ---------------------------------------------------------------------------


def knn_methods(*, min_rss: float, best_metric: str, best_representation: str, mm,
                metrics: Sequence[str], feat_rep: str, model, representation: str) -> dict:
    """The four distances of the positioning table, as :class:`.knn.KNNPositioner` keyword
    arguments: Euclidean on raw RSS, Study 1's best classical metric at its best
    representation, the meta-metric ``mm`` (on ``metrics`` at ``feat_rep``) and the DML
    embedding ``model`` (fed ``representation``); ``min_rss``: the dataset's."""
    enc = {"kind": representation, "min_rss": min_rss}
    return {
        "Euclidean (raw)": {"metric": "euclidean", "representation": "raw", "min_rss": min_rss},
        f"best classical ({best_metric}, {best_representation})":
            {"metric": best_metric, "representation": best_representation, "min_rss": min_rss},
        "meta-metric": {"distance_fn": positioning.meta_distance_fn(
            mm, metrics, feat_rep, min_rss=min_rss)},
        "DML log-ratio embedding": {"distance_fn": train.embedding_distance_fn(
            model, transform=lambda r, enc=enc: representations.represent(
                r, **enc).astype(np.float32))},
    }


def _split_arrays(split) -> tuple[np.ndarray, np.ndarray | None]:
    """2-D positions and buildings (``None`` when the dataset has none) of a split."""
    pos = split.positions if hasattr(split, "positions") else split.coords[:, :2]
    return pos, getattr(split, "building", None)


def positioning_set(tr, te, methods: dict, *, k: int, knn_queries: int | None, seed: int,
                    n_boot: int):
    """One test set of the positioning table: kNN (k = 1, 3, 5) with every method of
    ``methods`` (:func:`knn_methods`), trained on ``tr`` and scored on ``te`` (all queries, or
    ``knn_queries`` of them drawn with ``seed``), with scikit-learn's reference (k = 3, 4, 5)
    appended; and the tie-aware ranks at ``k`` from the per-query errors (``n_boot``
    resamples). Returns the table, the ranks and the rank intervals."""
    pos_tr, b_tr = _split_arrays(tr)
    pos_te, b_te = _split_arrays(te)
    q = np.arange(len(te.rss))
    if knn_queries and knn_queries < len(q):
        q = np.sort(np.random.default_rng([seed, 7]).choice(len(q), knn_queries, False))
    test = (te.rss[q], pos_te[q], te.floor[q], None if b_te is None else b_te[q])
    t, errs = positioning.knn_table((tr.rss, pos_tr, tr.floor, b_tr), test, methods,
                                    return_errors=True)
    ref = positioning.sklearn_reference((tr.rss, pos_tr), test, ks=(3, 4, 5))
    ranks, rank_iv = compare.tie_aware_ranks({m: errs[(m, k)]["err"] for m in methods},
                                             n_boot=n_boot, seed=seed)
    return pd.concat([t, ref], ignore_index=True), ranks, rank_iv


# --- Claims --------------------------------------------------------------------------------


def study1_claims(C, ranked: pd.DataFrame, *, correlation: str, n_scenarios: int,
                  granularities: Sequence[str], max_pairs: int) -> None:
    """Study 1's three findings on ``ranked`` (:func:`rank_metrics`): behaviour heterogeneous
    (both spreads ≥ 0.1), cosine among the best (top 3), all metrics far from optimal (best
    mean correlation < 0.8)."""
    study1_data = (f"Study 1 scenarios: {n_scenarios} (UJIIndoorLoc training, TUT3 train+test, "
                   f"UJI-LIB month 01) at granularities {', '.join(granularities)}; "
                   f"{max_pairs} sampled pairs per scenario")
    spread_m = ranked[correlation].max() - ranked[correlation].min()
    best_row = ranked.iloc[0]
    C.relation("Study 1", f"spread of mean {correlation} across metrics, and of the best metric "
               "across scenarios", "behaviour is heterogeneous across metrics and scenarios "
               "(both spreads ≥ 0.1)",
               spread_m >= 0.1 and best_row["max"] - best_row["min"] >= 0.1,
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
                           "the best metric over scenarios ≥ 0.1 (our threshold for "
                           "'heterogeneous')"})
    cos_rank = int(ranked.set_index("metric").loc["cosine", "rank"])
    C.relation("Study 1", f"rank of cosine among {len(ranked)} metrics (mean {correlation})",
               "cosine is among the best (top 3)", cos_rank <= 3, f"rank {cos_rank}",
               why_not="cosine is not in the top 3", anchor="dml-study1", protocol={
                   "source": f"{TALK} 'classical metrics': 'some outperforming the others "
                             "(e.g., cosine similarity)'",
                   "data": study1_data,
                   "metric": f"mean {correlation} over scenarios [–], each metric at its best "
                             "representation",
                   "baseline": f"the other {len(ranked) - 1} metrics",
                   "rule": "cosine ranked 1, 2 or 3 by mean correlation (ranks by point "
                           "value)"})
    C.relation("Study 1", f"best mean {correlation} of any metric", "all metrics are far from "
               "optimal (best mean correlation < 0.8, optimal = 1)", best_row[correlation] < 0.8,
               f"{best_row.metric} ({best_row.representation}): {best_row[correlation]:.3f}",
               why_not="a metric comes within 0.2 of optimal", anchor="dml-study1", protocol={
                   "source": f"{TALK} 'classical metrics': 'Performance far from the optimal "
                             "case'",
                   "data": study1_data,
                   "metric": f"mean {correlation} over scenarios [–]",
                   "baseline": "the optimal correlation, 1",
                   "rule": "the best metric's mean correlation < 0.8 (our threshold for "
                           "'far')"})


def study2_claims(C, gp_tab: pd.DataFrame, gp_iv: Mapping[str, Any], mm, *, correlation: str,
                  n_train_pairs: int, max_pairs: int) -> None:
    """Study 2's two correlation findings on :func:`generalisation`'s table: the meta-metric
    beats every single metric on unseen data (interval of ρ_meta − ρ_best wholly above 0), and
    is still not optimal (closes less than half of the gap to 1). Both are *not comparable*
    when the GP returned a single existing metric (``mm.single_metric``); otherwise ``gp_iv``
    holds :func:`generalisation_intervals`."""
    single_metric = mm.single_metric
    unseen = gp_tab[~gp_tab["seen in training"]]
    gp_profile = ("the GP search (population, generations, depth, training pairs) is smaller "
                  "than the paper's under smoke/quick, so the evolved meta-metric is weaker")
    gp_proto = {
        "data": f"GP trained on UJIIndoorLoc floor scenarios ({n_train_pairs} pairs); tested "
                f"on {len(unseen)} unseen TUT3 and UJI-LIB scenarios, {max_pairs} pairs each",
        "metric": f"{correlation} correlation with physical distance [–], mean over the unseen "
                  "scenarios",
    }
    meta_vs = (f"meta {unseen['meta-metric'].mean():.3f} vs best single "
               f"{unseen['best single metric'].mean():.3f}")
    single_reason = (f"the GP returned `{mm.expression}`, an expression of one existing metric "
                     f"({single_metric}) only: it combines no metrics, so 'meta-metric vs the "
                     "best single metric' would compare that metric with (a function of) itself")
    q_gen = (f"mean {correlation} on unseen datasets (TUT3, UJI-LIB): meta-metric vs the best "
             "single metric per scenario")
    s_gen = "the meta-metric generalises to unseen datasets and beats every single metric"
    p_gen = {**gp_proto, "source": f"{TALK} 'meta-metric': 'Good generalisation capabilities "
             "on unseen datasets' and 'Better results'",
             "baseline": "per unseen scenario, the best of the 12 single metrics on its test "
                         "pairs (chosen on those pairs: favours the baseline)"}

    def record(quantity, statement, key, better, ours, reason, protocol, rule):
        """Not comparable for one metric (``ours``, ``reason``, the ``rule`` not applied);
        otherwise decided by the interval ``gp_iv[key]``."""
        if single_metric:
            C.not_comparable("Study 2", quantity, statement, ours, reason, anchor="dml-study2",
                             profile_sensitive=gp_profile, protocol={**protocol, "rule": rule})
        else:
            C.difference("Study 2", quantity, statement, gp_iv[key], better=better,
                         anchor="dml-study2", profile_sensitive=gp_profile, protocol=protocol)

    record(q_gen, s_gen, "vs best single", "higher", meta_vs, single_reason, p_gen,
           "paired bootstrap interval of ρ_meta − ρ_best wholly above 0; not applied: no "
           "combination was evolved")
    q_opt = (f"mean {correlation} on unseen scenarios: meta-metric vs the midpoint between the "
             "best single metric and optimal")
    s_opt = ("better, but still not optimal: the meta-metric closes less than half of the gap "
             "between the best single metric and the optimal correlation 1")
    p_opt = {**gp_proto, "source": f"{TALK} 'meta-metric': 'Better results, but still not "
             "optimal'", "baseline": "(ρ_best single + 1) / 2 per unseen scenario"}
    record(q_opt, s_opt, "vs midpoint", "lower", f"max meta {unseen['meta-metric'].max():.3f}",
           single_reason + "; how far a single metric is from optimal is Study 1's claim", p_opt,
           "paired bootstrap interval of ρ_meta − (ρ_best + 1)/2 wholly below 0; not applied: "
           "no combination was evolved")


def positioning_claim(C, knn_ranks: pd.DataFrame, rank_iv: Mapping[str, Mapping], mm, *,
                      test_sets: Sequence[str], k: int, knn_queries: int | None,
                      merc: float) -> None:
    """Study 2's proxy finding on the positioning ranks (:func:`positioning_set`, with a
    ``test_set`` column): the meta-metric's tie-aware kNN rank at ``k`` is ≤ 2 on every test
    set of ``test_sets``; ``merc`` is UJIIndoorLoc's Web-Mercator factor (data m per ground
    m), stated in the protocol."""
    knn_k = knn_ranks.set_index(["test_set", "method"])
    meta_rank = {ts: int(knn_k.loc[(ts, "meta-metric"), "rank"]) for ts in test_sets}

    def rank_text(ts):
        row = knn_k.loc[(ts, "meta-metric")]
        tied = f", tied with {row.tied_with}" if row.tied_with else ""
        better = f"; better: {row.better_than_it}" if row.better_than_it else ""
        return f"{ts}: rank {meta_rank[ts]}{tied}{better}"

    C.relation("Study 2", "rank of the meta-metric's kNN mean error (k = 3) among the 4 "
               "distances", "correlation maximisation is a good proxy for positioning "
               "(meta-metric kNN among the best two)", all(r <= 2 for r in meta_rank.values()),
               "; ".join(rank_text(ts) for ts in test_sets) + (
                   f" (the meta-metric is `{mm.expression}`)" if mm.single_metric else ""),
               why_not="two or more distances have a kNN error significantly lower than the "
                       "meta-metric's", anchor="dml-positioning",
               profile_sensitive=("the GP search and its training pairs are smaller, and kNN "
                                  "runs on a subset of queries (knn_queries), under smoke/quick "
                                  "than under paper; a larger query set narrows the intervals"),
               protocol={
                   "source": f"{TALK} 'meta-metric': 'Correlation maximisation is a good proxy "
                             "task for positioning: the meta-metric achieves top performance'",
                   "data": f"kNN, k = {k}, distance-weighted; UJIIndoorLoc training → "
                           f"validation and Tampere train → test, {knn_queries or 'all'} "
                           "queries per test set",
                   "metric": "mean 2-D error (UJIIndoorLoc: Web-Mercator m, "
                             f"÷{merc:.3f} = ground m; Tampere: m)",
                   "baseline": "Euclidean (raw), Study 1's best classical metric, the DML "
                               "embedding",
                   "rule": "tie-aware rank ≤ 2 on both test sets: rank = 1 + the number of "
                           "distances whose 95 % paired-bootstrap interval (over queries) of "
                           "the error difference lies wholly below 0; per-query differences "
                           "within 1e-6 m count as 0",
                   "interval": " | ".join(f"{ts}: meta − {b}: {iv.describe('m')}"
                                          for ts, ivs in rank_iv.items()
                                          for (a_, b), iv in ivs.items()
                                          if a_ == "meta-metric")})


def study3_claims(C, corr: Mapping[str, float], dml_iv: Mapping[tuple[str, str], Any],
                  base: str, *, n_train: int, n_pairs: int, floor_height: float) -> None:
    """Study 3's two findings on the correlation table (``corr``: method → Spearman;
    ``dml_iv``: :func:`.compare.correlation_table`'s intervals): log-ratio beats the better
    triplet embedding, and beats ``base``, the best classical metric on the same pairs."""
    triplets = [m for m in corr if m.startswith("triplet")]
    if not triplets:
        raise ValueError(f"corr has no triplet embedding; methods: {', '.join(corr)}")
    best_triplet = max(triplets, key=corr.get)
    dml_profile = ("the embeddings train for fewer epochs, with smaller networks and fewer "
                   "sampled neighbours, under smoke/quick than under paper; undertrained models "
                   "can rank either way")
    dml_data = (f"trained on UJIIndoorLoc training ({n_train} fingerprints); {n_pairs} sampled "
                "pairs of UJIIndoorLoc validation; physical distance 3-D (Web-Mercator x, y; "
                f"floor × {floor_height:g} m)")
    C.difference("Study 3", "spearman of embedding vs physical distance, UJI validation: "
                 "log-ratio vs the better triplet (binarised) embedding", "continuous "
                 "supervision (log-ratio) captures spatial relationships better than binarised "
                 "near/far labels", dml_iv[("log-ratio", best_triplet)], better="higher",
                 anchor="dml-study3", profile_sensitive=dml_profile, protocol={
                     "source": f"{TALK} 'DML on continuous similarities': 'Defining thresholds "
                               "for binarization is domain and application dependent and "
                               "rather ineffective'",
                     "data": dml_data,
                     "metric": "Spearman correlation of embedding distance with physical "
                               "distance [–]",
                     "baseline": f"the better of the triplet embeddings ({best_triplet}: "
                                 f"{corr[best_triplet]:.3f}; log-ratio "
                                 f"{corr['log-ratio']:.3f})"})
    C.difference("Study 3", "spearman of the log-ratio embedding vs the best classical metric "
                 "on the same validation pairs", "DML improves the estimation of spatial "
                 "relationships over classical metrics", dml_iv[("log-ratio", base)],
                 better="higher", anchor="dml-study3", profile_sensitive=(
                     "the log-ratio embedding trains for fewer epochs, with a smaller network, "
                     "under smoke/quick than under paper; an undertrained embedding can fall "
                     "below the best classical metric"), protocol={
                     "source": f"{TALK} title and research question: 'Improving the "
                               "Estimation of Fingerprint Spatial Relationships via Deep "
                               "Metric Learning'",
                     "data": dml_data,
                     "metric": "Spearman correlation with physical distance [–]",
                     "baseline": f"{base} ({corr[base]:.3f}; log-ratio "
                                 f"{corr['log-ratio']:.3f}; Euclidean on raw RSS "
                                 f"{corr['Euclidean on RSS (raw) [extra]']:.3f}, shown as an "
                                 "extra row)"})
