"""A learned meta-metric: genetic programming over classical fingerprint distances (paper A, Study 2).

Brunello, Montanari and Saccomanno ("A genetic programming approach to WiFi fingerprint
meta-distance learning", Pervasive and Mobile Computing, 2022; summarised in the talk of
``../shared/papers/A-dml-continuous-similarities.md``) evolve, by symbolic regression, one
expression that combines the values of classical fingerprint distances (Euclidean, cosine, ...)
of a pair of fingerprints into a *meta-distance* whose correlation with the physical distance of
the two positions is as high as possible. :func:`fit_meta_metric` does that on any
``(n_pairs, n_metrics)`` feature matrix (this module does not know which metrics made it) and
returns a :class:`MetaMetric`: a readable expression, vectorised NumPy evaluation, JSON round trip.

GP library: gplearn
-------------------
gplearn 0.4.2 (May 2022), the release the project first looked at, does not run with
scikit-learn >= 1.6: ``SymbolicRegressor().fit`` raises ``AttributeError: 'SymbolicRegressor'
object has no attribute '_validate_data'`` (checked here with scikit-learn 1.9.1; gplearn issues
#304/#307). gplearn 0.4.3 (January 2026; the maintainer: "compatible with recent python and
sklearn releases") calls the public ``sklearn.utils.validation.validate_data``; fitting a
``SymbolicRegressor`` with a custom ``make_fitness`` metric on toy data works with
scikit-learn 1.9.1, and it adds no dependency the project does not already have (joblib,
scikit-learn). So gplearn (``>=0.4.3,<0.5``) is used rather than writing symbolic regression on
DEAP. What we add around it, with its public API (``warm_start``) plus a read of its last
population (``_programs[-1]``, whose selection fitness the depth limit edits: the reason the pin
stops below 0.5):

* **one generation per ``fit`` call** (``warm_start=True``; gplearn then draws the same random
  seeds as one long run), which gives a progress bar and a fresh subsample of pairs per
  generation (``max_pairs``);
* **a hard depth limit** (gplearn only bounds the *initial* depth): programs deeper than
  ``max_depth`` get fitness ``-inf`` so they never win a tournament (Koza's depth limit, applied
  as a death penalty), and are never returned;
* **elitism across generations**: gplearn keeps no elite, so the best program of *every*
  generation is re-scored on the whole training set and the best of those (less the parsimony
  penalty) is returned;
* **our own protected operators** (module functions below, shared by the GP and by
  :meth:`MetaMetric.evaluate`, so a saved expression evaluates without gplearn): ``a / b`` is
  ``1`` where ``|b| <= 0.001``, ``log`` is ``log|a|`` (``0`` where ``|a| <= 0.001``), ``sqrt`` is
  ``sqrt|a|`` (gplearn's conventions), and every arithmetic result is clipped to ``±1e100``, so no
  finite input can make ``inf`` or ``NaN``.

Protocol, and where we had to choose
------------------------------------
The paper's full text and its code could not be read from here (the authors' repository
``github.com/dslab-uniud/genetic-meta-distance-indoor`` holds its processed datasets, e.g.
``dataset_processati/dataset_TUT2.pickle``, and training sets named
``sets_bi_objective/training_building_all_100_<i>``, but no readable source). What the talk
states: symbolic regression by GP over the classical metrics; correlation with physical distance
is the target ("correlation maximisation is a good proxy task for positioning"); trained on some
scenarios, tested on unseen datasets. Everything else is our choice, stated here:

* terminals: the columns of the feature matrix (the classical metrics' values; the caller may add
  their inputs, e.g. the number of APs both fingerprints hear) and random constants in
  ``const_range``; features are divided by their training standard deviation (``scale=True``)
  so one constant range and one protection threshold suit metrics of any unit;
* primitives: ``add sub mul div sqrt log max min`` (``functions=``);
* fitness: ``|Spearman|`` by default (``fitness="pearson"`` for ``|Pearson|``) between the
  expression's value and the physical distance; Spearman because a meta-distance used for
  nearest-neighbour ranking only needs the right order, and Study 1 reports both (Study 1's
  module notes that the follow-up work's fitness is a linear correlation; we could not check
  that, so ``fitness`` offers both). A constant or non-finite output scores 0. The returned expression is
  oriented (``neg`` prepended when the correlation is negative) so that it always grows with
  physical distance;
* scenarios: with ``groups`` (a scenario label per pair) the fitness is the mean over training
  scenarios of the within-scenario correlation, so pairs of different buildings or datasets are
  never compared with each other (a kNN query never does that either); a single scenario is the
  plain correlation;
* search: gplearn's defaults for the variation operators (crossover 0.9, subtree, hoist and
  point mutation 0.01 each, the rest reproduction), ramped half-and-half initialisation of depth
  2..min(6, max_depth), tournament selection, parsimony pressure ``fitness - parsimony *
  length`` (also used to pick the winner across generations). Sizes per profile are in
  ``ipsbook.profiles`` (chapter ``dml``, key ``gp``); the paper's own population and generation counts are not known here, so
  ``paper`` is a Koza-sized run (1000 programs × 50 generations), not a copy.

``history`` holds, per generation, the correlation on *all* training pairs of that generation's
best program (best by the parsimony-penalised fitness); it need not rise monotonically when
generations are scored on subsamples.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ...progress import tqdm

__all__ = [
    "DEFAULT_FUNCTIONS",
    "FITNESSES",
    "FUNCTIONS",
    "MetaMetric",
    "fit_meta_metric",
]

FITNESSES: tuple[str, ...] = ("spearman", "pearson")

#: Protection thresholds shared by the GP and by :meth:`MetaMetric.evaluate`.
_EPS = 1e-3
_BIG = 1e100

# --- protected primitives (module level: picklable for gplearn's n_jobs > 1) -------------------

def _clip(a: np.ndarray) -> np.ndarray:
    return np.clip(a, -_BIG, _BIG)


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        return _clip(np.add(a, b))


def _sub(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        return _clip(np.subtract(a, b))


def _mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        return _clip(np.multiply(a, b))


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        return _clip(np.where(np.abs(b) > _EPS, np.divide(a, b), 1.0))


def _sqrt(a: np.ndarray) -> np.ndarray:
    return np.sqrt(np.abs(a))


def _log(a: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(a) > _EPS, np.log(np.abs(a)), 0.0)


def _max(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum(a, b)


def _min(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.minimum(a, b)


def _neg(a: np.ndarray) -> np.ndarray:
    return np.negative(a)


def _abs(a: np.ndarray) -> np.ndarray:
    return np.abs(a)


def _inv(a: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        return _clip(np.where(np.abs(a) > _EPS, 1.0 / a, 0.0))


#: name -> (function, arity). Every function maps finite arrays to finite arrays.
FUNCTIONS: dict[str, tuple[Any, int]] = {
    "add": (_add, 2), "sub": (_sub, 2), "mul": (_mul, 2), "div": (_div, 2),
    "sqrt": (_sqrt, 1), "log": (_log, 1), "max": (_max, 2), "min": (_min, 2),
    "neg": (_neg, 1), "abs": (_abs, 1), "inv": (_inv, 1),
}
DEFAULT_FUNCTIONS: tuple[str, ...] = ("add", "sub", "mul", "div", "sqrt", "log", "max", "min")

# A program is a prefix (Polish) list of tokens: str = function, int = feature column,
# float = constant (gplearn's own encoding, with functions by name).
Token = str | int | float


def _execute(program: Sequence[Token], X: np.ndarray) -> np.ndarray:
    """Evaluate a prefix program on the (already scaled) columns of ``X``; shape ``(n,)``."""
    n = X.shape[0]
    stack: list[list[Any]] = []
    for tok in program:
        if isinstance(tok, str):
            stack.append([tok])
            continue
        value = X[:, tok] if isinstance(tok, int) else np.full(n, float(tok))
        if not stack:  # a single-terminal program
            return np.array(value, dtype=float)
        stack[-1].append(value)
        while len(stack[-1]) == FUNCTIONS[stack[-1][0]][1] + 1:
            name, *args = stack.pop()
            result = FUNCTIONS[name][0](*args)
            if not stack:
                return np.asarray(result, dtype=float)
            stack[-1].append(result)
    raise ValueError("program: incomplete prefix expression")  # pragma: no cover - validated


def _check_program(program: Sequence[Token], n_features: int) -> None:
    """A well-formed prefix program over ``n_features`` columns, or ValueError."""
    if not program:
        raise ValueError("program: empty")
    need = 1
    for i, tok in enumerate(program):
        if need == 0:
            raise ValueError(f"program: tokens after the end of the expression (at {i})")
        if isinstance(tok, str):
            if tok not in FUNCTIONS:
                raise ValueError(f"program: unknown function {tok!r}; known: {sorted(FUNCTIONS)}")
            need += FUNCTIONS[tok][1] - 1
        elif isinstance(tok, bool) or not isinstance(tok, (int, float)):
            raise TypeError(f"program: token {tok!r} is neither a function, a column nor a constant")
        elif isinstance(tok, int):
            if not 0 <= tok < n_features:
                raise ValueError(f"program: feature index {tok} outside 0..{n_features - 1}")
            need -= 1
        else:
            if not math.isfinite(tok):
                raise ValueError(f"program: constant {tok!r} is not finite")
            need -= 1
    if need != 0:
        raise ValueError("program: incomplete prefix expression")


def _depth(program: Sequence[Token]) -> int:
    """Depth of a prefix program (a lone terminal has depth 0), as gplearn counts it."""
    pending = [0]
    depth = 1
    for tok in program:
        if isinstance(tok, str):
            pending.append(FUNCTIONS[tok][1])
            depth = max(depth, len(pending))
        else:
            pending[-1] -= 1
            while pending[-1] == 0 and len(pending) > 1:
                pending.pop()
                pending[-1] -= 1
    return depth - 1


_INFIX = {"add": ("+", 1), "sub": ("-", 1), "mul": ("*", 2), "div": ("/", 2)}


def _render(program: Sequence[Token], terminal: Any) -> str:
    """Infix rendering of a prefix program; ``terminal(i)`` names column ``i``."""
    pos = 0

    def node() -> tuple[str, int]:  # (text, precedence); 3 = atom
        nonlocal pos
        tok = program[pos]
        pos += 1
        if isinstance(tok, int):
            return terminal(tok), 3
        if isinstance(tok, float):
            text = f"{tok:.4g}"
            return (f"({text})", 3) if tok < 0 else (text, 3)
        arity = FUNCTIONS[tok][1]
        args = [node() for _ in range(arity)]
        if tok in _INFIX:
            op, prec = _INFIX[tok]
            (lt, lp), (rt, rp) = args
            left = f"({lt})" if lp < prec else lt
            # a - (b + c), a / (b * c): same precedence on the right needs brackets too
            right = f"({rt})" if rp < prec or (rp == prec and tok in ("sub", "div")) else rt
            return f"{left} {op} {right}", prec
        if tok == "neg":
            (t, p), = args
            return (f"-{t}" if p == 3 else f"-({t})"), 2
        return f"{tok}({', '.join(t for t, _ in args)})", 3

    text, _ = node()
    return text


# --- fitness ------------------------------------------------------------------------------------

def _rank(v: np.ndarray) -> np.ndarray:
    """Average ranks (1..n, ties share their mean rank): ``scipy.stats.rankdata``'s default, in
    about a fifth of its time (a quicksort plus O(n) work; ties make the sort order irrelevant)."""
    n = v.shape[0]
    order = np.argsort(v)
    sv = v[order]
    first = np.empty(n, dtype=bool)
    first[:1] = True
    np.not_equal(sv[1:], sv[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], n)
    mean_rank = (starts + ends + 1) / 2.0  # mean of the 1-based ranks starts+1 .. ends
    ranks = np.empty(n)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def _standardise(v: np.ndarray) -> np.ndarray | None:
    """``(v - mean) / ||v - mean||``, or None when ``v`` is (numerically) constant or not finite."""
    # sums rather than BLAS dot products: no thread pool for vectors (slow on busy small CPUs)
    if v.size == 0 or not np.all(np.isfinite(v)):
        return None
    centred = v - v.mean()
    scale = float(np.max(np.abs(centred)))
    if not math.isfinite(scale) or scale <= 1e-12 * max(1.0, float(np.max(np.abs(v)))):
        return None
    centred /= scale
    return centred / math.sqrt(float(np.sum(centred * centred)))


def _signed_corr(y_std: np.ndarray, pred: np.ndarray, kind: str) -> float:
    """Correlation of ``pred`` with the target, ``y_std`` standardised (ranked for spearman)."""
    if not np.all(np.isfinite(pred)):
        return 0.0
    p = _standardise(_rank(pred) if kind == "spearman" else pred)
    if p is None:
        return 0.0
    return float(np.clip(np.sum(p * y_std), -1.0, 1.0))


def _blocks(codes: np.ndarray) -> list[slice]:
    """Runs of equal consecutive values of ``codes`` (pairs sorted by scenario)."""
    n = codes.shape[0]
    cuts = np.flatnonzero(codes[1:] != codes[:-1]) + 1
    edges = [0, *cuts.tolist(), n]
    return [slice(a, b) for a, b in itertools.pairwise(edges)]


def _group_target(y: np.ndarray, blocks: Sequence[slice], kind: str) -> np.ndarray | None:
    """``y`` standardised (ranked for spearman) within each block; None if one is constant."""
    out = np.empty(y.shape[0])
    for b in blocks:
        t = _standardise(_rank(y[b]) if kind == "spearman" else y[b].astype(float))
        if t is None:
            return None
        out[b] = t
    return out


def _group_corr(t: np.ndarray, pred: np.ndarray, blocks: Sequence[slice], kind: str) -> float:
    """Mean over blocks of the signed correlation of ``pred`` with the block-standardised ``t``."""
    if not np.all(np.isfinite(pred)):
        return 0.0
    return float(np.mean([_signed_corr(t[b], pred[b], kind) for b in blocks]))


# gplearn metrics: y arrives standardised within each scenario (and ranked, for spearman); the
# sample weights w carry the scenario code (1, 2, ...; pairs sorted by it), and are all equal
# when there is a single scenario. Fitness: |mean over scenarios of the signed correlation|.
def _fitness_spearman(y: np.ndarray, y_pred: np.ndarray, w: np.ndarray) -> float:
    return abs(_group_corr(y, y_pred, _blocks(w), "spearman"))


def _fitness_pearson(y: np.ndarray, y_pred: np.ndarray, w: np.ndarray) -> float:
    return abs(_group_corr(y, y_pred, _blocks(w), "pearson"))


# --- the result ---------------------------------------------------------------------------------

@dataclass(frozen=True, eq=True)
class MetaMetric:
    """A learned meta-distance over pair features.

    ``program`` is a prefix expression (str: function, int: feature column, float: constant) over
    the features divided by ``scales``. :attr:`expression` shows it in infix with feature names
    standing for the *scaled* features; :attr:`expression_raw` writes the scaling out. Operators
    are the protected ones of :data:`FUNCTIONS`: ``a / b`` is 1 where ``|b| <= 0.001``,
    ``sqrt(a)`` is ``sqrt|a|``, ``log(a)`` is ``log|a|`` (0 where ``|a| <= 0.001``).
    """

    program: tuple[Token, ...]
    feature_names: tuple[str, ...]
    scales: tuple[float, ...]
    fitness: str = "spearman"
    fitness_train: float = float("nan")
    history: tuple[float, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.fitness not in FITNESSES:
            raise ValueError(f"fitness: {self.fitness!r} is not one of {FITNESSES}")
        if len(self.scales) != len(self.feature_names):
            raise ValueError(f"scales: {len(self.scales)} values for "
                             f"{len(self.feature_names)} feature_names")
        if not all(math.isfinite(s) and s > 0 for s in self.scales):
            raise ValueError(f"scales: must be finite and positive, got {self.scales}")
        _check_program(self.program, len(self.feature_names))

    # -- reading
    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def expression(self) -> str:
        """The expression in infix, feature names standing for the scaled features."""
        return _render(self.program, lambda i: self.feature_names[i])

    @property
    def expression_raw(self) -> str:
        """The expression in the features' own units: each name written as ``(name / scale)``."""
        def term(i: int) -> str:
            s = self.scales[i]
            return self.feature_names[i] if s == 1.0 else f"({self.feature_names[i]} / {s:.4g})"
        return _render(self.program, term)

    @property
    def depth(self) -> int:
        return _depth(self.program)

    @property
    def length(self) -> int:
        return len(self.program)

    @property
    def features_used(self) -> tuple[str, ...]:
        used = sorted({t for t in self.program if isinstance(t, int) and not isinstance(t, bool)})
        return tuple(self.feature_names[i] for i in used)

    @property
    def single_metric(self) -> str | None:
        """The one feature the expression uses when it uses exactly one (``cosine``,
        ``neg(cosine)``, ``cosine * 2.1`` ...): the GP then returned an existing metric, or a
        function of it, and combined nothing; None when it uses several, or none (a constant).
        A strictly monotone function of one metric ranks pairs exactly as that metric does, so
        a Spearman comparison with it compares the metric with itself."""
        used = self.features_used
        return used[0] if len(used) == 1 else None

    def __str__(self) -> str:
        return (f"MetaMetric({self.expression}; {self.fitness} on training pairs "
                f"{self.fitness_train:.4f})")

    # -- computing
    def evaluate(self, F: Any) -> np.ndarray:
        """The meta-distance of every pair: ``(n,)`` floats, finite; larger = farther apart."""
        X = _check_features(F, "F", self.n_features, self.feature_names)
        return _execute(self.program, _scaled(X, self.scales))

    def correlation(self, F: Any, y: Any, groups: Any = None) -> dict[str, float]:
        """Pearson and Spearman correlation of :meth:`evaluate` with physical distances ``y``
        (0 for a constant output). With ``groups`` (a scenario label per pair): the mean over
        scenarios of the within-scenario correlations, as :func:`fit_meta_metric` scores it."""
        d = self.evaluate(F)
        yv = _check_target(y, "y", d.shape[0], "F")
        order, blocks = _check_groups(groups, d.shape[0], "groups", "F")
        d, yv = d[order], yv[order]
        out = {}
        for kind in ("pearson", "spearman"):
            vals = []
            for b in blocks:
                t = _standardise(_rank(yv[b]) if kind == "spearman" else yv[b])
                vals.append(0.0 if t is None else _signed_corr(t, d[b], kind))
            out[kind] = float(np.mean(vals))
        return out

    # -- saving
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (``json.dumps(mm.to_dict())``); :meth:`from_dict` inverts it."""
        tokens: list[dict[str, Any]] = []
        for t in self.program:
            if isinstance(t, str):
                tokens.append({"op": t})
            elif isinstance(t, int):
                tokens.append({"feature": t, "name": self.feature_names[t]})
            else:
                tokens.append({"const": float(t)})
        return {
            "format": "ipsbook.meta-metric/1",
            "expression": self.expression,
            "program": tokens,
            "feature_names": list(self.feature_names),
            "scales": [float(s) for s in self.scales],
            "fitness": self.fitness,
            "fitness_train": float(self.fitness_train),
            "history": [float(h) for h in self.history],
            "settings": _jsonable(dict(self.settings)),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MetaMetric:
        """Rebuild a :class:`MetaMetric` saved with :meth:`to_dict`."""
        if not isinstance(d, Mapping) or d.get("format") != "ipsbook.meta-metric/1":
            raise ValueError("d: not a meta-metric description (format 'ipsbook.meta-metric/1')")
        try:
            program: list[Token] = []
            for tok in d["program"]:
                if "op" in tok:
                    program.append(str(tok["op"]))
                elif "feature" in tok:
                    program.append(int(tok["feature"]))
                else:
                    program.append(float(tok["const"]))
            return cls(
                program=tuple(program),
                feature_names=tuple(str(n) for n in d["feature_names"]),
                scales=tuple(float(s) for s in d["scales"]),
                fitness=str(d["fitness"]),
                fitness_train=float(d["fitness_train"]),
                history=tuple(float(h) for h in d.get("history", ())),
                settings=dict(d.get("settings", {})),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"d: malformed meta-metric description ({exc!r})") from exc


def _jsonable(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


# --- input checks -------------------------------------------------------------------------------

def _check_features(F: Any, name: str, n_features: int | None = None,
                    feature_names: Sequence[str] | None = None) -> np.ndarray:
    try:
        X = np.asarray(F, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a numeric (n_pairs, n_features) array ({exc})") from exc
    if X.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D (n_pairs, n_features) array, got shape {X.shape}")
    if n_features is not None and X.shape[1] != n_features:
        names = f" ({', '.join(feature_names)})" if feature_names is not None else ""
        raise ValueError(f"{name}: expected {n_features} columns, one per feature{names}; "
                         f"got {X.shape[1]}")
    if not np.all(np.isfinite(X)):
        bad = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(f"{name}: non-finite value {X[tuple(bad)]} at row {bad[0]}, column "
                         f"{bad[1]}; the meta-metric needs finite features")
    return X


def _check_target(y: Any, name: str, n: int, f_name: str) -> np.ndarray:
    try:
        yv = np.asarray(y, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a 1-D numeric array ({exc})") from exc
    if yv.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of physical distances, got shape {yv.shape}")
    if yv.shape[0] != n:
        raise ValueError(f"{name}: {yv.shape[0]} values but {f_name} has {n} rows")
    if not np.all(np.isfinite(yv)):
        raise ValueError(f"{name}: physical distances must be finite")
    return yv


def _check_groups(groups: Any, n: int, name: str, f_name: str,
                  min_size: int = 1) -> tuple[np.ndarray, list[slice]]:
    """(order sorting the pairs by scenario, the scenario blocks in that order)."""
    if groups is None:
        return np.arange(n), [slice(0, n)]
    g = np.asarray(groups)
    if g.ndim != 1 or g.shape[0] != n:
        raise ValueError(f"{name}: expected one scenario label per pair ({n}), got shape {g.shape}")
    try:
        _, codes = np.unique(g, return_inverse=True)
    except TypeError as exc:
        raise ValueError(f"{name}: labels must be comparable (all str or all numbers)") from exc
    order = np.argsort(codes, kind="stable")
    blocks = _blocks(codes[order])
    small = [str(g[order][b.start]) for b in blocks if b.stop - b.start < min_size]
    if small:
        raise ValueError(f"{name}: scenarios {small} have fewer than {min_size} pairs")
    return order, blocks


def _scaled(X: np.ndarray, scales: Sequence[float]) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.clip(X / np.asarray(scales, dtype=float), -_BIG, _BIG)


def _check_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")
    return int(value)


# --- fitting ------------------------------------------------------------------------------------

def fit_meta_metric(
    F_train: Any,
    y_train: Any,
    *,
    feature_names: Sequence[str],
    fitness: Literal["spearman", "pearson"] = "spearman",
    population: int = 200,
    generations: int = 15,
    tournament: int = 7,
    parsimony: float = 0.001,
    max_depth: int = 8,
    max_pairs: int | None = 20_000,
    groups: Any = None,
    functions: Sequence[str] = DEFAULT_FUNCTIONS,
    const_range: tuple[float, float] | None = (-1.0, 1.0),
    scale: bool = True,
    seed: int = 0,
    n_jobs: int = 1,
    progress: bool = True,
) -> MetaMetric:
    """Evolve an expression of the pair features maximising its correlation with ``y_train``.

    ``F_train``: ``(n_pairs, n_features)`` finite features of fingerprint pairs (e.g. classical
    distances); ``y_train``: ``(n_pairs,)`` physical distances. ``fitness``: ``"spearman"`` or
    ``"pearson"`` (absolute value; constant or non-finite outputs score 0). ``population``,
    ``generations``, ``tournament`` (tournament size), ``parsimony`` (penalty per program node),
    ``max_depth`` (hard limit on tree depth). ``max_pairs``: each generation is scored on a fresh
    seeded subsample of that many pairs (all pairs when fewer, or when None); the winner is
    chosen on all pairs. ``groups``: a scenario label per pair (e.g. ``"tut3/f2"``); the fitness
    is then the mean over scenarios of the *within*-scenario correlation (pooled pairs of
    different buildings or datasets would reward getting the scenarios' offsets right, which no
    kNN query needs), subsamples are stratified by scenario, and each scenario needs at least 3
    pairs. ``functions``: names from :data:`FUNCTIONS`. ``scale``: divide each
    feature by its training standard deviation. ``seed`` fixes everything: the same inputs and
    seed give the same expression, whatever ``n_jobs``. See ``ipsbook.profiles`` (chapter ``dml``, key ``gp``) for the sizes per profile.
    """
    if fitness not in FITNESSES:
        raise ValueError(f"fitness: {fitness!r} is not one of {FITNESSES}")
    X = _check_features(F_train, "F_train")
    n, d = X.shape
    if n < 3:
        raise ValueError(f"F_train: need at least 3 pairs, got {n}")
    if d < 1:
        raise ValueError("F_train: need at least one feature column")
    # a lone string is one name (not a sequence of one-letter names): caught by the length check
    names = (feature_names,) if isinstance(feature_names, str) else tuple(feature_names)
    if len(names) != d:
        raise ValueError(f"feature_names: {len(names)} names for {d} columns of F_train")
    if not all(isinstance(s, str) and s for s in names) or len(set(names)) != d:
        raise ValueError(f"feature_names: expected {d} distinct non-empty strings, got {names}")
    y = _check_target(y_train, "y_train", n, "F_train")
    population = _check_int(population, "population", 2)
    generations = _check_int(generations, "generations", 1)
    tournament = _check_int(tournament, "tournament", 1)
    if tournament > population:
        raise ValueError(f"tournament: {tournament} is larger than population ({population})")
    max_depth = _check_int(max_depth, "max_depth", 2)
    seed = _check_int(seed, "seed", 0)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(f"n_jobs: expected a non-zero integer (joblib's convention), got {n_jobs!r}")
    if max_pairs is not None:
        max_pairs = _check_int(max_pairs, "max_pairs", 10)
    if (isinstance(parsimony, bool) or not isinstance(parsimony, numbers.Real)
            or not math.isfinite(parsimony) or parsimony < 0):
        raise ValueError(f"parsimony: expected a finite number >= 0, got {parsimony!r}")
    funcs = tuple(functions)
    unknown = [f for f in funcs if f not in FUNCTIONS]
    if not funcs or unknown:
        raise ValueError(f"functions: unknown {unknown} (known: {sorted(FUNCTIONS)})"
                         if unknown else "functions: need at least one function")
    if const_range is not None:
        if (len(const_range) != 2 or not all(math.isfinite(c) for c in const_range)
                or const_range[0] >= const_range[1]):
            raise ValueError(f"const_range: expected (low, high) with low < high, got {const_range!r}")
        const_range = (float(const_range[0]), float(const_range[1]))
    order, blocks = _check_groups(groups, n, "groups", "F_train", min_size=3)
    X, y = X[order], y[order]  # pairs sorted by scenario: each scenario a contiguous block
    y_all = _group_target(y, blocks, fitness)
    if y_all is None:
        where = " within a scenario of groups" if groups is not None else ""
        raise ValueError(f"y_train: physical distances are constant{where}; "
                         "no correlation to maximise")
    codes = np.empty(n)
    for k, b in enumerate(blocks):
        codes[b] = k + 1.0

    try:
        from gplearn.fitness import make_fitness
        from gplearn.functions import make_function
        from gplearn.genetic import SymbolicRegressor
    except ImportError as exc:  # pragma: no cover - gplearn is a declared dependency
        raise ImportError("fit_meta_metric needs gplearn>=0.4.3 (pip install gplearn)") from exc

    if scale:
        std = X.std(axis=0)
        scales = tuple(float(s) if math.isfinite(s) and s > 1e-12 else 1.0 for s in std)
    else:
        scales = (1.0,) * d
    Xs = _scaled(X, scales)

    metric = make_fitness(function=_fitness_spearman if fitness == "spearman" else _fitness_pearson,
                          greater_is_better=True, wrap=False)
    gp_functions = [make_function(function=FUNCTIONS[f][0], name=f, arity=FUNCTIONS[f][1],
                                  wrap=False) for f in funcs]
    est = SymbolicRegressor(
        population_size=population, generations=1, tournament_size=tournament,
        stopping_criteria=2.0,  # |correlation| <= 1: never stop early
        const_range=const_range, init_depth=(2, min(6, max_depth)), init_method="half and half",
        function_set=gp_functions, metric=metric, parsimony_coefficient=float(parsimony),
        max_samples=1.0, warm_start=True, low_memory=True, n_jobs=int(n_jobs), verbose=0,
        random_state=seed,
    )

    use_all = max_pairs is None or n <= max_pairs
    candidates: list[tuple[float, tuple[Token, ...]]] = []
    history: list[float] = []
    bar = tqdm(range(generations), desc="GP meta-metric", unit="gen", disable=not progress)
    for gen in bar:
        Xg, yg, wg = Xs, y_all, codes
        if not use_all:
            rng = np.random.default_rng([seed, gen])
            # stratified by scenario, at least 3 pairs each; sorted, so blocks stay contiguous
            idx = np.concatenate([
                b.start + np.sort(rng.choice(b.stop - b.start, replace=False, size=min(
                    b.stop - b.start, max(3, round(max_pairs * (b.stop - b.start) / n)))))
                for b in blocks])
            sub_y = _group_target(y[idx], _blocks(codes[idx]), fitness)
            if sub_y is not None:  # else a constant subsample: score on all pairs this time
                Xg, yg, wg = Xs[idx], sub_y, codes[idx]
        est.set_params(generations=gen + 1)
        est.fit(Xg, yg, sample_weight=wg)
        pop = est._programs[-1]
        best = None  # by gplearn's selection fitness: |correlation| - parsimony * length
        for prog in pop:
            if prog.depth_ > max_depth:
                prog.fitness_ = -np.inf  # never a parent: the depth limit
            elif best is None or (prog.fitness_, -prog.length_) > (best.fitness_, -best.length_):
                best = prog
        if best is None:  # every child too deep (crossover of valid parents can exceed the limit)
            history.append(float("nan"))
            continue
        tokens = tuple(_token(node) for node in best.program)
        r_all = abs(_group_corr(y_all, _execute(tokens, Xs), blocks, fitness))
        candidates.append((r_all - parsimony * len(tokens), tokens))
        history.append(r_all)
        bar.set_postfix(best=f"{np.nanmax(history):.4f}", length=len(tokens))
    bar.close()
    if not candidates:
        raise RuntimeError(f"no program within max_depth={max_depth} in {generations} generations")

    # the winner over all generations, on all training pairs, with the same parsimony penalty
    # (max() keeps the first of equal scores: the earliest generation)
    win = max(candidates, key=lambda c: c[0])[1]
    r = _group_corr(y_all, _execute(win, Xs), blocks, fitness)
    program = ("neg", *win) if r < 0 else win
    settings = {
        "fitness": fitness, "population": population, "generations": generations,
        "tournament": tournament, "parsimony": float(parsimony), "max_depth": max_depth,
        "max_pairs": max_pairs, "functions": list(funcs),
        "const_range": list(const_range) if const_range is not None else None,
        "scale": bool(scale), "seed": seed, "n_pairs": n, "n_groups": len(blocks),
        "library": _gplearn_version(),
    }
    return MetaMetric(program=program, feature_names=names, scales=scales, fitness=fitness,
                      fitness_train=abs(r), history=tuple(history), settings=settings)


def _token(node: Any) -> Token:
    """gplearn's program node -> our token (its functions are ours, found by name)."""
    if isinstance(node, (int, np.integer)) and not isinstance(node, bool):
        return int(node)
    if isinstance(node, (float, np.floating)):
        return float(node)
    return str(node.name)


def _gplearn_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"gplearn {version('gplearn')}"
    except PackageNotFoundError:  # pragma: no cover - gplearn importable without metadata
        return "gplearn"
