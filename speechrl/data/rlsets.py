"""RL data construction from a corpus' train split, by named strategies and ratios (the paper's
D0-D3): `random`; `hard` (the current policy's sampled group disagrees, or two policies
disagree); `long` (train utterances of one speaker joined into 20-60 s recordings, never the
evaluation long set); `capped` (duration <= a cap); `keyword` (items richest in keywords).

    items, summary = build_rl_set(corpus_items, size=64, ratios={"hard": 0.5, "long": 0.25, "keyword": 0.25},
                                  out=folder, policy=policy)

The output is a manifest (`rl.jsonl`) plus `summary.json`: counts and seconds per strategy.
An item is picked once, by the first strategy that claims it.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from .corpus import join_items
from .manifest import Item, write_manifest

STRATEGIES = ("random", "hard", "long", "capped", "keyword")


@dataclass(frozen=True)
class RLSetSpec:
    """Strategy ratios and their settings."""

    size: int = 64
    ratios: tuple[tuple[str, float], ...] = (("random", 1.0),)
    cap_s: float = 20.0            # capped: longest utterance kept, seconds
    min_keywords: int = 2          # keyword: at least this many keywords
    long_min_s: float = 20.0
    long_max_s: float = 60.0
    num_generations: int = 4       # hard: samples per candidate
    hard_pool: int = 3             # hard: candidates scored per item wanted
    seed: int = 0

    def __post_init__(self):
        unknown = [n for n, _ in self.ratios if n not in STRATEGIES]
        if unknown:
            raise ValueError(f"unknown strategy {unknown}; use {', '.join(STRATEGIES)}")
        if any(not r >= 0 for _, r in self.ratios) or sum(r for _, r in self.ratios) <= 0:
            raise ValueError("strategy ratios must be >= 0 and sum to more than 0")
        if self.size < 1:
            raise ValueError("size must be >= 1")

    def counts(self) -> dict[str, int]:
        """Items per strategy: ratios scaled to `size`, rounding remainders to the largest shares."""
        total = sum(r for _, r in self.ratios)
        raw = {n: self.size * r / total for n, r in self.ratios}
        out = {n: int(v) for n, v in raw.items()}
        for n in sorted(raw, key=lambda k: raw[k] - out[k], reverse=True)[:self.size - sum(out.values())]:
            out[n] += 1
        return out


def group_disagreement(policy, items: list[Item], num_generations: int, seed: int = 0) -> list[float]:
    """Std of per-sample WER over G sampled transcripts per item (0 = the group agrees)."""
    import numpy as np
    import torch

    from ..audio import load_audio
    from ..metrics import wer

    torch.manual_seed(seed)
    out = []
    with torch.no_grad():
        for k in range(0, len(items), 8):
            batch = items[k:k + 8]
            gen = policy.generate(policy.encode([load_audio(i.audio) for i in batch]),
                                  num_return_sequences=num_generations, temperature=1.0)
            for j, item in enumerate(batch):
                texts = gen.texts[j * num_generations:(j + 1) * num_generations]
                out.append(float(np.std([wer(item.text, t) for t in texts])))
    return out


def policy_disagreement(a, b, items: list[Item]) -> list[float]:
    """WER between two policies' greedy transcripts per item (0 = they agree)."""
    from ..audio import load_audio
    from ..metrics import wer

    audio = [load_audio(i.audio) for i in items]
    return [wer(x, y) if x.strip() else float(bool(y.strip())) for x, y in zip(a.transcribe(audio), b.transcribe(audio))]


def build_rl_set(items: list[Item], spec: RLSetSpec, out: str | Path, policy=None, other_policy=None) -> tuple[list[Item], dict]:
    """Pick RL items from `items` (use a corpus' train split) by strategy; write rl.jsonl + summary.json."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(spec.seed)
    pool = [i for i in items if i.split in ("train", "") and not i.segments]
    if not pool:
        raise ValueError("no short train items to build from; give a corpus' train split")
    taken: set[str] = set()
    chosen: list[Item] = []
    summary: dict = {"strategies": {}}

    def free(xs):
        return [x for x in xs if x.id not in taken]

    for name, n in spec.counts().items():
        if n == 0:
            continue
        if name == "random":
            picks = rng.sample(free(pool), min(n, len(free(pool))))
        elif name == "capped":
            cands = [x for x in free(pool) if x.duration <= spec.cap_s]
            picks = rng.sample(cands, min(n, len(cands)))
        elif name == "keyword":
            cands = [x for x in free(pool) if len(x.keywords) >= spec.min_keywords]
            rng.shuffle(cands)
            picks = sorted(cands, key=lambda x: -len(x.keywords))[:n]
        elif name == "hard":
            if policy is None:
                raise ValueError("the 'hard' strategy needs a policy to sample from (and optionally a second one)")
            cands = rng.sample(free(pool), min(len(free(pool)), n * spec.hard_pool))
            score = (policy_disagreement(policy, other_policy, cands) if other_policy is not None
                     else group_disagreement(policy, cands, spec.num_generations, spec.seed))
            ranked = sorted(zip(score, range(len(cands))), reverse=True)
            picks = [cands[k] for s, k in ranked[:n] if s > 0]
        else:  # long
            picks = _long_items(free(pool), n, out, rng, spec)
        for p in picks:
            taken.update(p.extra.get("parts", [p.id]))
            chosen.append(Item(**{**p.__dict__, "extra": {**p.extra, "strategy": name}}))
        summary["strategies"][name] = {"wanted": n, "items": len(picks),
                                       "seconds": round(sum(p.duration for p in picks), 1)}
    write_manifest(out / "rl.jsonl", chosen)
    summary.update(items=len(chosen), seconds=round(sum(c.duration for c in chosen), 1), spec=spec.__dict__)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=list))
    return chosen, summary


def _long_items(pool: list[Item], n: int, out: Path, rng: random.Random, spec: RLSetSpec) -> list[Item]:
    """n long recordings, each from one speaker's unused train utterances."""
    by_speaker: dict[str, list[Item]] = {}
    for x in pool:
        by_speaker.setdefault(x.speaker, []).append(x)
    speakers = [s for s, xs in sorted(by_speaker.items()) if sum(x.duration for x in xs) >= spec.long_min_s]
    rng.shuffle(speakers)
    made = []
    for k, spk in enumerate(speakers[:n]):
        parts = by_speaker[spk]
        rng.shuffle(parts)
        item = join_items(parts, out / "long" / f"rl-long-{k:04d}.wav", f"rl-long-{k:04d}", rng,
                          spec.long_min_s, spec.long_max_s, split="train")
        used = [p.id for p in parts[:len(item.segments)]]
        made.append(Item(**{**item.__dict__, "extra": {"parts": used}}))
    return made
