"""Reward interface, registry and weighted combination (open-r1 rewards, TRL's reward_weights).

A reward is a pure batch function `(completions, **batch) -> list[float | None]`: one score per
completion, None where the reward does not apply to that sample (a keyword reward for an item
without keywords). `batch` holds per-sample lists, at least `reference`.

Several rewards combine as TRL does: scores form an [N, F] matrix (NaN for None) and the total is
the weighted nansum over terms, so a term that does not apply simply drops out of that row.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

RewardFn = Callable[..., list]
METRIC_PREFIX = "reward/"        # metric keys are namespaced: reward/wer, reward/total
TERM_KEYS = ("name", "weight", "params")


@dataclass(frozen=True)
class Param:
    """One setting of a reward: its default and a short help text (a form field on a page)."""

    default: Any
    help: str


@dataclass(frozen=True)
class RewardSpec:
    """A registered reward: `factory(**params)` returns the batch function."""

    name: str
    factory: Callable[..., RewardFn]
    description: str
    params: dict[str, Param] = field(default_factory=dict)

    def defaults(self) -> dict[str, Any]:
        return {k: p.default for k, p in self.params.items()}

    def to_dict(self) -> dict:
        """Plain data (JSON-ready) from which a page can render a form without code."""
        return {"name": self.name, "description": self.description,
                "params": {k: {"default": p.default, "help": p.help} for k, p in self.params.items()}}


REGISTRY: dict[str, RewardSpec] = {}


def register(spec: RewardSpec) -> RewardSpec:
    """Add a reward to REGISTRY; a name may be registered once."""
    if spec.name in REGISTRY:
        raise ValueError(f"reward {spec.name!r} is already registered; pick another name")
    REGISTRY[spec.name] = spec
    return spec


def check_number(setting: str, value, *, low: float | None = None, high: float | None = None,
                 integer: bool = False) -> float | int:
    """A finite number in [low, high] (an int when `integer`), or a ValueError naming the setting."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{setting} must be a number, got {value!r}; set it to a number")
    if not math.isfinite(value):
        raise ValueError(f"{setting} is {value}; set it to a finite number")
    if integer and value != int(value):
        raise ValueError(f"{setting} must be a whole number, got {value}; round it")
    if low is not None and value < low:
        raise ValueError(f"{setting} is {value}; set it to at least {low}")
    if high is not None and value > high:
        raise ValueError(f"{setting} is {value}; set it to at most {high}")
    return int(value) if integer else float(value)


def resolve_params(name: str, params: dict | None = None) -> dict[str, Any]:
    """The reward's defaults overlaid with `params`; unknown rewards or settings raise ValueError."""
    if name not in REGISTRY:
        raise ValueError(f"unknown reward {name!r}; choose one of: {', '.join(sorted(REGISTRY))}")
    spec, params = REGISTRY[name], dict(params or {})
    unknown = sorted(set(params) - set(spec.params))
    if unknown:
        valid = ", ".join(sorted(spec.params)) or "none (it takes no settings)"
        raise ValueError(f"reward {name!r} has no setting {', '.join(unknown)}; valid settings: {valid}")
    return {**spec.defaults(), **params}


def make_reward(name: str, **params) -> RewardFn:
    """Build the registered reward `name` with `params` (validated by its factory)."""
    params = resolve_params(name, params)
    return REGISTRY[name].factory(**params)


def batch_column(reward: str, key: str, completions: list[str], batch: dict) -> list:
    """`batch[key]` checked to hold one entry per completion."""
    if key not in batch:
        raise ValueError(f"reward {reward!r} needs batch[{key!r}]; pass {key}= with one entry per completion")
    column = list(batch[key])
    if len(column) != len(completions):
        raise ValueError(f"{len(completions)} completions but {len(column)} {key} entries; "
                         f"give one {key} per completion")
    return column


@dataclass(frozen=True)
class RewardTerm:
    """One term of a combined reward: registered name, weight, settings (defaults filled in)."""

    name: str
    weight: float
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"name": self.name, "weight": self.weight, "params": dict(self.params)}


@dataclass(frozen=True)
class RewardResult:
    """Scores of one batch: per-term matrix, weighted total, and the term names (for logging)."""

    names: tuple[str, ...]
    weights: np.ndarray     # [F]
    matrix: np.ndarray      # [N, F], NaN where a term did not apply
    total: np.ndarray       # [N], NaN where no term applied

    def metrics(self) -> dict[str, float]:
        """Batch means per term and of the total, keyed reward/<name> and reward/total (NaN skipped)."""
        out = {}
        for j, name in enumerate(self.names):
            out[METRIC_PREFIX + name] = _nanmean(self.matrix[:, j])
        out[METRIC_PREFIX + "total"] = _nanmean(self.total)
        return out


def _nanmean(x: np.ndarray) -> float:
    # np.nanmean warns on an all-NaN slice; a term that applied to nothing logs NaN quietly.
    return float(np.mean(x[~np.isnan(x)])) if np.any(~np.isnan(x)) else float("nan")


class CombinedReward:
    """Weighted sum of registered rewards: `__call__(completions, **batch) -> RewardResult`."""

    def __init__(self, terms: list[RewardTerm]):
        self.terms = tuple(terms)
        self.names = tuple(t.name for t in self.terms)
        self.weights = np.array([t.weight for t in self.terms], dtype=np.float64)  # [F]
        self._fns = [REGISTRY[t.name].factory(**t.params) for t in self.terms]

    def __call__(self, completions: list[str], **batch) -> RewardResult:
        n = len(completions)
        matrix = np.full((n, len(self._fns)), np.nan)                       # [N, F]
        for j, (name, fn) in enumerate(zip(self.names, self._fns)):
            scores = fn(completions, **batch)
            if len(scores) != n:
                raise ValueError(f"reward {name!r} returned {len(scores)} scores for {n} completions")
            matrix[:, j] = [np.nan if s is None else float(s) for s in scores]
        total = np.nansum(matrix * self.weights, axis=1)                     # [N]
        total[np.all(np.isnan(matrix), axis=1)] = np.nan                     # no term applied
        return RewardResult(self.names, self.weights.copy(), matrix, total)

    def to_json(self) -> dict:
        """Names, weights and settings only: plain data for a config file."""
        return {"terms": [t.to_json() for t in self.terms]}

    @classmethod
    def from_json(cls, data: dict) -> "CombinedReward":
        """Rebuild from `to_json()` output; every field is validated, nothing is evaluated."""
        if not isinstance(data, dict) or not isinstance(data.get("terms"), list):
            raise ValueError('reward config must be {"terms": [{"name", "weight", "params"}, ...]}')
        terms = []
        for i, term in enumerate(data["terms"]):
            if not isinstance(term, dict) or set(term) - set(TERM_KEYS) or "name" not in term or "weight" not in term:
                raise ValueError(f"reward term {i} must be a dict with keys {', '.join(TERM_KEYS)}; got {term!r}")
            params = term.get("params") or {}
            if not isinstance(params, dict):
                raise ValueError(f"reward term {i} params must be a dict of settings, got {params!r}")
            terms.append((term["name"], term["weight"], params))
        return compose(terms)

    def __repr__(self) -> str:
        inner = ", ".join(f"{t.name}×{t.weight:g}" for t in self.terms)
        return f"CombinedReward({inner})"


TermLike = RewardTerm | tuple


def _as_term(term: TermLike) -> RewardTerm:
    if isinstance(term, RewardTerm):
        name, weight, params = term.name, term.weight, term.params
    elif isinstance(term, (tuple, list)) and len(term) in (2, 3):   # JSON gives lists
        name, weight, params = term[0], term[1], (term[2] if len(term) == 3 else {})
    elif isinstance(term, dict) and {"name", "weight"} <= set(term) <= {"name", "weight", "params"}:
        name, weight, params = term["name"], term["weight"], term.get("params", {})
    else:
        raise ValueError(f"a reward term is (name, weight), (name, weight, params) or "
                         f"{{'name', 'weight', 'params'}}; got {term!r}")
    if not isinstance(name, str):
        raise ValueError(f"reward name must be a string, got {name!r}")
    weight = check_number(f"weight of reward {name!r}", weight)
    return RewardTerm(name, weight, resolve_params(name, params))


def compose(terms: Iterable[TermLike]) -> CombinedReward:
    """A CombinedReward from (name, weight[, params]) terms, each validated now, not mid-training."""
    terms = [_as_term(t) for t in terms]
    if not terms:
        raise ValueError("no reward terms; give at least one (name, weight) pair, e.g. ('wer', 1.0)")
    seen = set()
    for t in terms:
        if t.name in seen:
            raise ValueError(f"reward {t.name!r} appears twice; list each reward once and merge the weights")
        seen.add(t.name)
    if sum(t.weight for t in terms) == 0:
        raise ValueError("reward weights sum to 0; give at least one reward a positive weight")
    return CombinedReward(terms)
