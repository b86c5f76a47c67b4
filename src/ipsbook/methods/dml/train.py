"""Training an embedding φθ of fingerprints whose distances mirror physical distances.

Paper A (Saccomanno, Brunello & Montanari), Study 3: deep metric learning on continuous
similarities with the log-ratio loss and dense triplet mining of Kim, Seo, Laptev, Cho & Kwak,
"Deep Metric Learning Beyond Binary Supervision", CVPR 2019; compared with triplet and
contrastive losses on near/far labels binarised at a distance threshold.

Inputs are already-represented fingerprints ``X`` (float, n × m; e.g. the "positive" or "powed"
representation, never the raw +100 "not heard" code) and positions in metres (n × 2, or n × 3
with a floor height). Nothing here reads data sets or knows representations.

Mini-batches (Kim et al., Sec. 4, "dense triplet mining"): an anchor, its ``k_neighbours``
nearest neighbours in label (physical) space, and ``n_random`` others drawn at random; the loss
covers every triplet (a, i, j) of the anchor with two members. Where we differ, and why:

* **Several anchors per step.** Kim et al. feed one anchor's mini-batch (1 + 5 + 144 images)
  to a ResNet per step. An MLP on 520 inputs is far cheaper than its optimiser step, so each step
  stacks ``batch_anchors`` such mini-batches; they share the one draw of ``n_random`` random
  members (forward cost B·(1 + k) + R rows instead of B·(1 + k + R)). Each anchor still gets its
  own k label-nearest neighbours and random others drawn uniformly from the whole set; a random
  member that happens to be the anchor itself is masked out. An epoch uses every training
  sample once as an anchor, as in Kim et al.
* **Label distance floor.** Kim et al. add ε = 1e-6 inside both logs; we keep that as the
  numerical guard (:mod:`.losses`). But UJIIndoorLoc has ~20 fingerprints per reference point
  (whose coordinates also jitter by centimetres), so the anchor's label-nearest neighbours are
  mostly at 0–0.3 m; with only ε the loss would demand their embedding distances be 10⁻⁶ of the
  others'. Physical distances below ``min_label_dist_m`` (default 1 m, about the positioning
  accuracy of the reference points) are therefore raised to it before the log.
* **Optimiser.** AdamW (lr 1e-3) on an MLP trained from scratch, instead of SGD (lr 0.01,
  momentum 0.9, weight decay 5e-4) on an ImageNet-pretrained ResNet.
* **Embedding.** 32-d MLP output without L2 normalisation for the log-ratio loss (Kim et al. do
  not normalise it either: ratios make the scale irrelevant), normalised for triplet and
  contrastive losses, whose margins need a fixed scale (as Kim et al.'s triplet baseline).
* **Binarised baselines** use the same batches: members within ``threshold_m`` of the anchor
  are positives, the others negatives; all (a, p, n) triplets / all (a, member) pairs count.

Reproducibility: seeded (``torch.manual_seed`` inside :func:`torch.random.fork_rng`, so the
caller's global RNG state is left alone; NumPy ``default_rng`` for sampling), and
``torch.use_deterministic_algorithms(True)`` while training on CPU; no DataLoader workers (the
batches are index arithmetic on tensors already in memory). The same arguments on the same
machine give bit-identical embeddings on CPU; on GPU they are close but not guaranteed equal.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.spatial import cKDTree
from scipy.stats import spearmanr

from ...models.dml import EmbeddingMLP
from ...progress import tqdm
from ...torchutil import resolve_device, torch_session
from ...training import Plateau, StopRule, validation_split
from .losses import _dense_log_ratio, contrastive_loss, triplet_loss

__all__ = [
    "DEFAULT_MARGINS",
    "LOSSES",
    "TrainHistory",
    "embed",
    "embedding_distance_fn",
    "pair_spearman",
    "train_embedding",
]

LOSSES: tuple[str, ...] = ("log_ratio", "triplet", "contrastive")

# Margins of the binarised losses, on L2-normalised embeddings: triplet on squared distances
# (D ∈ [0, 4]; 0.2 as FaceNet), contrastive on distances (d ∈ [0, 2]; random unit vectors in 32-d
# sit near √2, so 1.0 pushes "far" pairs out to at least the typical random spread).
DEFAULT_MARGINS: dict[str, float] = {"triplet": 0.2, "contrastive": 1.0}

# Training sizes per run profile (the chapter's profiles.py entry should take them from here).
# Sizes per profile (and measured times) are in ipsbook.profiles, chapter "dml", key "train".


@dataclass
class TrainHistory:
    """What one :func:`train_embedding` call did, epoch by epoch."""

    loss: list[float] = field(default_factory=list)  # mean training loss of the epoch
    seconds: list[float] = field(default_factory=list)  # wall time of the epoch (training only)
    val_spearman: list[float] = field(default_factory=list)  # after each epoch, if val given
    near_fraction: list[float] = field(default_factory=list)  # binarised losses: share of near
    val_spearman_input: float | None = None  # squared Euclidean in input space, same val pairs
    # with early stopping: Spearman on the pairs of the split carved from the training data,
    # after each epoch, and what the plateau rule did (ipsbook.training.Plateau.summary)
    stop_val_spearman: list[float] = field(default_factory=list)
    stopping: dict[str, Any] | None = None
    device: str = "cpu"
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return float(sum(self.seconds))

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-friendly) for saving beside the results."""
        d = asdict(self)
        d["total_seconds"] = self.total_seconds
        return d


# --- checks -----------------------------------------------------------------------------------

def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}={value!r} must be an integer >= {minimum}")
    return int(value)


def _check_float(name: str, value: Any, *, positive: bool = True) -> float:
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool) \
        and np.isfinite(value) and (value > 0 if positive else value >= 0)
    if not ok:
        raise ValueError(f"{name}={value!r} must be a finite number "
                         f"{'> 0' if positive else '>= 0'}")
    return float(value)


def _check_fingerprints(name: str, X: Any, width: int | None = None) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"{name} must be a non-empty 2-D array (n × access points); "
                         f"got shape {X.shape}")
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise ValueError(f"{name} must be real numbers; got dtype {X.dtype}")
    if width is not None and X.shape[1] != width:
        raise ValueError(f"{name} has {X.shape[1]} columns; the model takes {width}")
    X = X.astype(np.float32, copy=False)
    if not np.isfinite(X).all():
        raise ValueError(f"{name} holds NaN/inf: represent missing APs with a number first")
    return X


def _check_positions(name: str, P: Any, n: int, dims: int | None = None) -> np.ndarray:
    P = np.asarray(P, dtype=np.float64)
    if P.ndim != 2 or P.shape[1] not in (2, 3):
        raise ValueError(f"{name} must be n × 2 or n × 3 (metres); got shape {P.shape}")
    if P.shape[0] != n:
        raise ValueError(f"{name} has {P.shape[0]} rows but the fingerprints have {n}")
    if dims is not None and P.shape[1] != dims:
        raise ValueError(f"{name} has {P.shape[1]} coordinates; training used {dims}")
    if not np.isfinite(P).all():
        raise ValueError(f"{name} holds NaN/inf")
    return P


# --- training ---------------------------------------------------------------------------------

def _label_neighbours(positions: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices ``(n, k)`` of each sample's k nearest others by physical distance.

    Ties (many fingerprints share a reference point) are broken at random, once, by building the
    tree on a seeded permutation of the samples.
    """
    n = len(positions)
    perm = rng.permutation(n)
    _, nn = cKDTree(positions[perm]).query(positions[perm], k=k + 1)
    nn = perm[np.asarray(nn).reshape(n, k + 1)]
    out = np.empty((n, k), dtype=np.int64)
    out[perm] = _drop_self(nn, perm, k)
    return out


def _drop_self(nn: np.ndarray, self_idx: np.ndarray, k: int) -> np.ndarray:
    """Remove each row's own index (or, if a duplicate pushed it out, the last neighbour)."""
    is_self = nn == self_idx[:, None]
    # keep the first k entries that are not self; a row without self just drops its (k+1)-th
    order = np.argsort(is_self, axis=1, kind="stable")
    return np.take_along_axis(nn, order, axis=1)[:, :k]


def train_embedding(
    X: np.ndarray,
    positions: np.ndarray,
    *,
    loss: str = "log_ratio",
    threshold_m: float | None = None,
    margin: float | None = None,
    epochs: int = 10,
    steps_per_epoch: int | None = None,
    batch_anchors: int = 128,
    k_neighbours: int = 5,
    n_random: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    hidden: Sequence[int] = (256, 128),
    out_dim: int = 32,
    dropout: float = 0.1,
    min_label_dist_m: float = 1.0,
    eps: float = 1e-6,
    seed: int = 0,
    device: str | torch.device | None = None,
    num_threads: int | None = None,
    progress: bool = True,
    val: tuple[np.ndarray, np.ndarray] | None = None,
    val_pairs: int = 20_000,
    stop: StopRule | dict[str, Any] | None = None,
    stop_groups: Sequence[Any] | None = None,
) -> tuple[EmbeddingMLP, TrainHistory]:
    """Train an :class:`~ipsbook.models.dml.EmbeddingMLP` on fingerprints ``X`` and ``positions``.

    Parameters
    ----------
    X : (n, m) represented fingerprints (float32; finite).
    positions : (n, 2) or (n, 3) positions in metres.
    loss : ``"log_ratio"`` (continuous supervision, Kim et al.) or ``"triplet"`` /
        ``"contrastive"`` on near/far labels at ``threshold_m`` metres (required for those,
        refused for log_ratio).
    margin : margin of the binarised losses (default :data:`DEFAULT_MARGINS`).
    epochs, steps_per_epoch : an epoch is ``ceil(n / batch_anchors)`` steps (every sample once
        an anchor) unless ``steps_per_epoch`` caps it.
    batch_anchors, k_neighbours, n_random : anchors per step, label-nearest neighbours of each
        anchor, shared random members per step (each anchor has k + n_random members).
    lr, weight_decay : AdamW.
    hidden, out_dim, dropout : the MLP.
    min_label_dist_m : floor on physical distances for the log-ratio loss (see module notes).
    eps : guard added inside the logs (Kim et al.'s 1e-6).
    seed : seeds initialisation, dropout and sampling.
    device : ``None`` → CUDA when available, else CPU.
    num_threads : CPU threads for torch during training (restored afterwards); ``None`` keeps
        torch's setting. Use 1 when other processes share the cores: torch's OpenMP threads
        spin while they wait, and on an oversubscribed 2-core machine a 2-thread run was seen
        10-30× slower than a 1-thread one.
    progress : show a tqdm bar over the steps.
    val : optional ``(X_val, positions_val)``; after each epoch the Spearman correlation between
        embedding and physical distances over ``val_pairs`` random pairs is recorded.
    stop : early stopping (:class:`ipsbook.training.StopRule`, or its fields as a mapping; the
        ``full`` profile's converged training). A seeded ``stop.val_fraction`` of the training
        samples (whole ``stop_groups`` at a time, when given: e.g. reference points) is held
        out; after each epoch the Spearman correlation of embedding and physical distances on
        ``val_pairs`` of its pairs is the monitored value (higher is better); the learning rate
        falls on a plateau, training stops after ``stop.patience`` epochs without improvement
        (``epochs`` is the cap) and the best epoch's weights are kept. ``None``: ``epochs``
        epochs on every sample, the last weights kept.

    Returns ``(model, history)``; the model is in eval mode on ``device``.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss={loss!r} is unknown; choose one of {', '.join(LOSSES)}")
    X = _check_fingerprints("X", X)
    n, m = X.shape
    P = _check_positions("positions", positions, n)
    if loss == "log_ratio":
        if threshold_m is not None:
            raise ValueError(f"threshold_m={threshold_m!r} is only for the binarised losses "
                             "(triplet, contrastive); log_ratio uses the distances themselves")
        if margin is not None:
            raise ValueError(f"margin={margin!r} is only for the binarised losses")
    else:
        if threshold_m is None:
            raise ValueError(f"threshold_m is required for loss={loss!r}: the distance (m) "
                             "below which a pair counts as near")
        threshold_m = _check_float("threshold_m", threshold_m)
        margin = _check_float("margin", DEFAULT_MARGINS[loss] if margin is None else margin)
    epochs = _check_int("epochs", epochs, 1)
    if steps_per_epoch is not None:
        steps_per_epoch = _check_int("steps_per_epoch", steps_per_epoch, 1)
    batch_anchors = _check_int("batch_anchors", batch_anchors, 1)
    k_neighbours = _check_int("k_neighbours", k_neighbours, 0)
    n_random = _check_int("n_random", n_random, 0)
    if k_neighbours + n_random < 2:
        raise ValueError(f"k_neighbours + n_random = {k_neighbours + n_random}: each anchor "
                         "needs at least two members to form a triplet")
    if k_neighbours > n - 1:
        raise ValueError(f"k_neighbours={k_neighbours} must be below the number of samples "
                         f"({n})")
    if n_random > n:
        raise ValueError(f"n_random={n_random} exceeds the number of samples ({n})")
    lr = _check_float("lr", lr)
    weight_decay = _check_float("weight_decay", weight_decay, positive=False)
    min_label_dist_m = _check_float("min_label_dist_m", min_label_dist_m)
    eps = _check_float("eps", eps)
    seed = _check_int("seed", seed, 0)
    val_pairs = _check_int("val_pairs", val_pairs, 2)
    if num_threads is not None:
        num_threads = _check_int("num_threads", num_threads, 1)
    if val is not None:
        if not (isinstance(val, (tuple, list)) and len(val) == 2):
            raise ValueError("val must be a pair (X_val, positions_val)")
        X_val = _check_fingerprints("val[0] (X_val)", val[0], width=m)
        P_val = _check_positions("val[1] (positions_val)", val[1], len(X_val), dims=P.shape[1])
        if len(X_val) < 2:
            raise ValueError("val needs at least two samples to form a pair")
    dev = resolve_device(device)
    rule = StopRule.of(stop)
    held_out = None
    if rule is not None:
        fit_idx, held_idx = validation_split(n, rule.val_fraction, seed, stop_groups)
        if len(fit_idx) <= k_neighbours or len(fit_idx) < n_random or len(held_idx) < 2:
            raise ValueError(f"stop.val_fraction={rule.val_fraction} leaves {len(fit_idx)} "
                             f"training and {len(held_idx)} validation samples of {n}: too few "
                             f"for k_neighbours={k_neighbours}, n_random={n_random}")
        held_out = (X[held_idx], P[held_idx])
        X, P = X[fit_idx], P[fit_idx]
        n = len(X)

    settings = {
        "loss": loss, "threshold_m": threshold_m, "margin": margin, "epochs": epochs,
        "steps_per_epoch": steps_per_epoch, "batch_anchors": batch_anchors,
        "k_neighbours": k_neighbours, "n_random": n_random, "lr": lr,
        "weight_decay": weight_decay, "hidden": tuple(int(h) for h in hidden),
        "out_dim": out_dim, "dropout": dropout, "min_label_dist_m": min_label_dist_m,
        "eps": eps, "seed": seed, "num_threads": num_threads, "n_train": n, "n_features": m,
        "position_dims": P.shape[1],
        "stop": rule.as_dict() if rule is not None else None,
    }
    history = TrainHistory(device=str(dev), settings=settings)
    rng = np.random.default_rng(seed)
    neighbours = _label_neighbours(P, k_neighbours, rng) if k_neighbours else \
        np.empty((n, 0), np.int64)
    if val is not None:
        pairs = _random_pairs(len(X_val), val_pairs, seed)
        history.val_spearman_input = _spearman_on_pairs(X_val, P_val, pairs)
    if held_out is not None:
        stop_pairs = _random_pairs(len(held_out[0]), val_pairs, seed + 1)

    scale = float(np.abs(X).max())
    with torch_session(seed, dev, num_threads):
        model = EmbeddingMLP(m, hidden, out_dim, dropout,
                             normalize=loss != "log_ratio",
                             input_scale=1.0 / scale if scale > 0 else 1.0).to(dev)
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        plateau = Plateau(rule, optimizers=[opt], module=model, mode="max")
        Xt = torch.from_numpy(X).to(dev)
        # centred before float32: UJI's northings are ~4.9e6 m, where float32 steps by 0.5 m
        Pt = torch.from_numpy(P - P.mean(0)).to(dev, torch.float32)
        nb_t = torch.from_numpy(neighbours).to(dev)
        steps = math.ceil(n / batch_anchors)
        if steps_per_epoch is not None:
            steps = min(steps, steps_per_epoch)
        bar = tqdm(total=epochs * steps, desc=f"DML {loss}", disable=not progress,
                   leave=False)
        for epoch in range(epochs):
            model.train()
            t0 = time.perf_counter()
            order = torch.from_numpy(rng.permutation(n)).to(dev)
            total = torch.zeros((), device=dev)
            near_total = torch.zeros((), device=dev)
            for s in range(steps):
                anchors = order[s * batch_anchors:(s + 1) * batch_anchors]
                pool = torch.from_numpy(rng.choice(n, size=n_random, replace=False)).to(dev)
                value, near_share = _step(model, Xt, Pt, nb_t, anchors, pool, loss,
                                          threshold_m, margin, min_label_dist_m, eps)
                opt.zero_grad(set_to_none=True)
                value.backward()
                opt.step()
                total += value.detach()
                near_total += near_share
                bar.update(1)
            history.loss.append(float(total) / steps)
            history.seconds.append(time.perf_counter() - t0)
            if loss != "log_ratio":
                history.near_fraction.append(float(near_total) / steps)
            post = {"loss": f"{history.loss[-1]:.4g}"}
            if val is not None:
                rho = _spearman_on_pairs(embed(model, X_val), P_val, pairs)
                history.val_spearman.append(rho)
                post["val_rho"] = f"{rho:.3f}"
            if held_out is not None:
                rho = _spearman_on_pairs(embed(model, held_out[0]), held_out[1], stop_pairs)
                history.stop_val_spearman.append(rho)
                post["stop_rho"] = f"{rho:.3f}"
                bar.set_postfix(post)
                if plateau.update(epoch, rho):
                    break
                continue
            bar.set_postfix(post)
        bar.close()
        if held_out is not None:
            plateau.restore()
            history.stopping = plateau.summary(epochs)
    model.eval()
    return model, history


def _step(model: EmbeddingMLP, Xt: torch.Tensor, Pt: torch.Tensor, nb: torch.Tensor,
          anchors: torch.Tensor, pool: torch.Tensor, loss: str, threshold_m: float | None,
          margin: float | None, min_label: float, eps: float) -> tuple[torch.Tensor,
                                                                      torch.Tensor]:
    """One mini-batch: embed anchors, their label neighbours and the shared random pool once."""
    B, k, R = len(anchors), nb.shape[1], len(pool)
    nbrs = nb[anchors]  # (B, k)
    rows = torch.cat([anchors, nbrs.reshape(-1), pool])
    emb = model(Xt[rows])
    e_a = emb[:B]
    e_m = torch.cat([emb[B:B + B * k].reshape(B, k, -1),
                     emb[B + B * k:].unsqueeze(0).expand(B, R, -1)], dim=1)  # (B, k + R, d)
    members = torch.cat([nbrs, pool.unsqueeze(0).expand(B, R)], dim=1)
    valid = members != anchors[:, None]
    d_emb = (e_m - e_a[:, None, :]).pow(2).sum(-1)
    d_lab = (Pt[members] - Pt[anchors][:, None, :]).pow(2).sum(-1).sqrt()
    if loss == "log_ratio":
        return _dense_log_ratio(d_emb, d_lab.clamp(min=min_label), valid, eps), \
            torch.zeros((), device=Xt.device)
    near = d_lab <= threshold_m
    share = (near & valid).sum() / valid.sum().clamp(min=1)
    if loss == "triplet":
        return triplet_loss(d_emb, near, margin, valid), share
    return contrastive_loss(d_emb, near, margin, valid, eps), share


# --- inference and evaluation -----------------------------------------------------------------

def embed(model: EmbeddingMLP, X: np.ndarray, batch: int = 8192,
          device: str | torch.device | None = None) -> np.ndarray:
    """Embeddings ``(n, out_dim)`` float32 of fingerprints ``X`` (eval mode, no gradient).

    ``device`` defaults to the model's; the model's train/eval mode is restored afterwards.
    """
    if not isinstance(model, torch.nn.Module) or not hasattr(model, "in_dim"):
        raise ValueError("model must be an EmbeddingMLP (as returned by train_embedding)")
    X = _check_fingerprints("X", X, width=model.in_dim)
    batch = _check_int("batch", batch, 1)
    dev = next(model.parameters()).device if device is None else resolve_device(device)
    was_training = model.training
    model.to(dev).eval()
    out = np.empty((len(X), model.out_dim), dtype=np.float32)
    try:
        with torch.no_grad():
            for s in range(0, len(X), batch):
                xb = torch.from_numpy(X[s:s + batch]).to(dev)
                out[s:s + batch] = model(xb).cpu().numpy()
    finally:
        model.train(was_training)
    return out


def embedding_distance_fn(
    model: EmbeddingMLP,
    *,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    squared: bool = True,
    batch: int = 8192,
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A ``distance_fn(Q, DB) -> (nq, ndb)`` comparing fingerprints in the embedding space.

    ``transform`` maps what the caller passes (e.g. raw dBm with 100 = not heard, as the kNN
    positioner does) to the representation the model was trained on; ``None`` passes the
    arrays through. Squared Euclidean by default: the distance the log-ratio loss made
    proportional to metres, so a 1/distance-weighted kNN weights neighbours as it would by
    physical distance. The database's embedding is cached while the same ``DB`` object comes
    back (the positioner calls once per block of queries with its one database array).
    """
    if not isinstance(model, torch.nn.Module) or not hasattr(model, "in_dim"):
        raise ValueError("model must be an EmbeddingMLP (as returned by train_embedding)")
    if transform is not None and not callable(transform):
        raise ValueError(f"transform must be callable or None; got {transform!r}")
    cache: dict[str, Any] = {"db": None, "emb": None}

    def _embed(A: np.ndarray) -> np.ndarray:
        return embed(model, transform(A) if transform is not None else A, batch).astype(
            np.float64)

    def distance_fn(Q: np.ndarray, DB: np.ndarray) -> np.ndarray:
        if cache["db"] is not DB:
            cache["db"], cache["emb"] = DB, _embed(DB)
        eq, ed = _embed(Q), cache["emb"]
        d = (eq**2).sum(1)[:, None] + (ed**2).sum(1)[None, :] - 2.0 * eq @ ed.T
        np.maximum(d, 0.0, out=d)
        return d if squared else np.sqrt(d)

    return distance_fn


def _random_pairs(n: int, n_pairs: int, seed: int) -> np.ndarray:
    """``(p, 2)`` distinct unordered pairs i < j: all of them if there are at most ``n_pairs``."""
    total = n * (n - 1) // 2
    if total <= n_pairs:
        i, j = np.triu_indices(n, k=1)
        return np.stack([i, j], 1)
    rng = np.random.default_rng([seed, 0x5EED])
    i = rng.integers(0, n, size=n_pairs)
    j = (i + rng.integers(1, n, size=n_pairs)) % n  # j != i, uniform over the others
    return np.stack([np.minimum(i, j), np.maximum(i, j)], 1)


def _spearman_on_pairs(F: np.ndarray, P: np.ndarray, pairs: np.ndarray) -> float:
    F = F.astype(np.float64)
    d_f = ((F[pairs[:, 0]] - F[pairs[:, 1]]) ** 2).sum(1)
    d_p = np.sqrt(((P[pairs[:, 0]] - P[pairs[:, 1]]) ** 2).sum(1))
    return float(spearmanr(d_f, d_p).statistic)


def pair_spearman(features: np.ndarray, positions: np.ndarray, n_pairs: int = 20_000,
                  seed: int = 0) -> float:
    """Spearman correlation of feature-space (squared) Euclidean distance with physical distance.

    Over ``n_pairs`` random distinct pairs (all pairs when there are fewer). A monitoring helper
    for training and tests (ranks make squared and plain Euclidean equivalent); the chapter's
    correlation study has its own protocol.
    """
    F = _check_fingerprints("features", features)
    P = _check_positions("positions", positions, len(F))
    n_pairs = _check_int("n_pairs", n_pairs, 2)
    if len(F) < 2:
        raise ValueError("features needs at least two rows to form a pair")
    return _spearman_on_pairs(F, P, _random_pairs(len(F), n_pairs, seed))
