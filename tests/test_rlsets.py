"""RL data construction: ratios, strategies, no item twice, long audio from train only."""
from __future__ import annotations

import json

import pytest

from speechrl.audio import load_audio
from speechrl.data.corpus import load
from speechrl.data.rlsets import RLSetSpec, build_rl_set
from speechrl.models.llm_asr import tiny_llm_asr


@pytest.mark.parametrize("ratios,size,expected", [
    ((("random", 1.0),), 10, {"random": 10}),
    # 0.5/0.25/0.25 of 10 = 5, 2.5, 2.5 -> 5, 2, 2 and the one left to the first largest remainder
    ((("random", 0.5), ("keyword", 0.25), ("capped", 0.25)), 10, {"random": 5, "keyword": 3, "capped": 2}),
    ((("hard", 2.0), ("long", 0.0)), 4, {"hard": 4, "long": 0}),
])
def test_counts(ratios, size, expected):
    assert RLSetSpec(size=size, ratios=ratios).counts() == expected


@pytest.mark.parametrize("kwargs,words", [
    ({"ratios": (("easy", 1.0),)}, "unknown strategy"),
    ({"ratios": (("random", 0.0),)}, "sum to more than 0"),
    ({"size": 0}, "size must be"),
])
def test_bad_spec(kwargs, words):
    with pytest.raises(ValueError, match=words):
        RLSetSpec(**kwargs)


def test_build_mixed_set(small_corpus, tmp_path):
    train = load(small_corpus, "train")
    spec = RLSetSpec(size=6, ratios=(("keyword", 0.5), ("capped", 0.25), ("long", 0.25)), cap_s=3.5,
                     min_keywords=3, long_min_s=8, long_max_s=12)
    items, summary = build_rl_set(load(small_corpus), spec, tmp_path / "rl")
    by = {}
    for i in items:
        by.setdefault(i.extra["strategy"], []).append(i)
    assert all(len(i.keywords) >= 3 for i in by["keyword"])
    assert all(i.duration <= 3.5 for i in by.get("capped", []))
    train_ids = {i.id for i in train}
    assert all(i.id in train_ids for s in ("keyword", "capped") for i in by.get(s, []))   # never dev/test/long
    for i in by["long"]:
        assert 8 <= i.duration <= 12 and len(i.segments) >= 2
        assert set(i.extra["parts"]) <= train_ids
        load_audio(i.audio)
    used = [p for i in items for p in i.extra.get("parts", [i.id])]
    assert len(used) == len(set(used))                                                    # nothing twice
    assert json.loads((tmp_path / "rl" / "summary.json").read_text())["items"] == len(items)
    assert summary["strategies"]["keyword"]["items"] == 3


def test_hard_needs_a_policy_and_ranks_by_disagreement(small_corpus, tmp_path):
    spec = RLSetSpec(size=2, ratios=(("hard", 1.0),), num_generations=3, hard_pool=2)
    with pytest.raises(ValueError, match="needs a policy"):
        build_rl_set(load(small_corpus), spec, tmp_path / "a")
    items, summary = build_rl_set(load(small_corpus), spec, tmp_path / "b", policy=tiny_llm_asr())
    assert 0 < len(items) <= 2 and all(i.extra["strategy"] == "hard" for i in items)
