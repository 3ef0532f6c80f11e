"""Rewards and their combination, table-driven; the arithmetic is in the comments."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from speechrl.rewards import (REGISTRY, CombinedReward, cer_reward, compose, exact_match_reward,
                              keyword_reward, make_reward, wer_reward)

FIVE = "alpha beta gamma delta epsilon"


def score(name: str, ref: str, hyp: str, **params) -> float | None:
    """One (reference, hypothesis) pair through the registered reward `name`."""
    return make_reward(name, **params)([hyp], reference=[ref])[0]


@pytest.mark.parametrize("ref,hyp,expected", [
    ("send the box now", "Send the box now.", 1.0),                 # same after normalization: 1 - 0
    ("send the box now", "send the fox now", 0.75),                 # 1 sub / 4 words: 1 - 1/4
    ("send the box now", "", 0.0),                                  # 4 deletions / 4: 1 - 1
    ("hello world", "hello world and more", 0.0),                   # 2 insertions / 2: 1 - 1
    ("hello world", "hello world and then some more words here", -1.0),  # 6 ins / 2: 1 - 3 = -2 -> clip -1
])
def test_wer(ref, hyp, expected):
    assert wer_reward([hyp], reference=[ref]) == [pytest.approx(expected)]


@pytest.mark.parametrize("ref,hyp,expected", [
    ("cat", "Cat!", 1.0),                                           # same after normalization
    ("cat", "cut", 1 - 1 / 3),                                      # 1 char sub / 3 chars
    ("cat", "cats and dogs", -1.0),                                 # 10 char insertions / 3 -> 1 - 3.33 -> clip -1
])
def test_cer(ref, hyp, expected):
    assert cer_reward([hyp], reference=[ref]) == [pytest.approx(expected)]


@pytest.mark.parametrize("ref,hyp,expected", [
    ("Hello, World!", "hello world", 1.0),                          # punctuation and case removed
    ("the colour red", "the color red", 1.0),                       # British -> American spelling
    ("hello world", "hello word", 0.0),
])
def test_exact_match(ref, hyp, expected):
    assert exact_match_reward([hyp], reference=[ref]) == [expected]


@pytest.mark.parametrize("ref,hyp,scale,expected", [
    ("a b c d e f", "a x c e f g", 1.0, -3.0),                      # S=1 (b->x), D=1 (d), I=1 (g)
    ("a b c d e f", "a x c e f g", 2.0, -1.5),                      # -3 / 2
    ("send the box now", "send the box now", 1.0, 0.0),
])
def test_neg_errors(ref, hyp, scale, expected):
    assert score("neg_errors", ref, hyp, scale=scale) == pytest.approx(expected)


LOOP = "thank you for watching " * 3


@pytest.mark.parametrize("ref,hyp,params,expected", [
    # clean: no repeats, no insertions, all Latin
    ("the cat sat on the mat", "the cat sat on the mat", {}, 0.0),
    # loop: 12 words, 8 five-grams, period 4 -> 4 distinct, repeated 4/8 = 0.5 > 0.2 (insertions not counted)
    ("thank you for watching", LOOP, {"max_insertions": 100}, -1.0),
    # same loop with the threshold raised to 0.5: 0.5 is not > 0.5
    ("thank you for watching", LOOP, {"max_insertions": 100, "max_repeat_rate": 0.5}, 0.0),
    # 4 inserted "very" > 3; its 5-grams are all distinct, so only the insertion trigger fires
    ("send the box now", "send the very very very very box now", {}, -1.0),
    # 3 insertions is allowed (not > 3)
    ("send the box now", "send the very very very box now", {}, 0.0),
    # Cyrillic: Latin share 0 < 0.5 (4 subs + 1 del, no insertions)
    ("hello world how are you", "привет мир как дела", {}, -1.0),
    # same with the script check off
    ("hello world how are you", "привет мир как дела", {"min_latin_fraction": 0.0}, 0.0),
    # mixed: "hello" 5 Latin letters, "мир" 3 Cyrillic -> 5/8 = 0.625 >= 0.5
    ("hello world", "hello мир", {}, 0.0),
])
def test_hallucination(ref, hyp, params, expected):
    assert score("hallucination", ref, hyp, **params) == expected


@pytest.mark.parametrize("ref,hyp,keywords,expected", [
    ("call doctor smith at noon", "call doctor smith at noon", ["smith"], 1.0),  # P = 1, R = 1
    ("call doctor smith at noon", "call doctor smyth at noon", ["smith"], 0.0),  # none written: P := 0, R = 0
    # smith said 1, written 2 -> TP 1; jones said 1, written 0 -> TP 0; P = 1/2, R = 1/2
    ("smith met jones", "smith met smith", ["smith", "jones"], 0.5),
    ("smith met jones", "smith met", ["Smith", "Jones"], 0.75),     # P = 1/1, R = 1/2 -> (1 + 0.5) / 2
    ("the weather is fine", "the weather is fine", ["smith"], 1.0),  # distractor, not written
    ("the weather is fine", "smith weather is fine", ["smith"], 0.0),  # distractor written: P = 0
    ("the weather is fine", "the weather is fine", [], None),       # no keywords: not applicable
    ("the weather is fine", "the weather is fine", ["", " ,"], None),  # keywords empty after normalization
])
def test_keyword(ref, hyp, keywords, expected):
    got = keyword_reward([hyp], reference=[ref], keywords=[keywords])[0]
    assert got == (None if expected is None else pytest.approx(expected))


def test_keyword_without_keywords_column_is_none():
    assert keyword_reward(["a", "b"], reference=["a", "b"]) == [None, None]


@pytest.mark.parametrize("ref,hyp,params,expected", [
    (FIVE, FIVE, {}, 0.0),                                          # ratio 1.0 in [0.8, 1.2]
    (FIVE, "alpha beta gamma delta", {}, 0.0),                      # 4/5 = 0.8, on the edge
    (FIVE, "alpha beta gamma", {}, -0.5),                           # 3/5 = 0.6: (0.8 - 0.6) / 0.4
    (FIVE, FIVE + " zeta eta", {}, -0.5),                           # 7/5 = 1.4: (1.4 - 1.2) / 0.4
    (FIVE, FIVE + " " + FIVE, {}, -1.0),                            # 2.0: 0.8 / 0.4 = 2 -> capped at 1
    (FIVE, "", {}, -1.0),                                           # 0.0: 0.8 / 0.4 = 2 -> capped
    (FIVE, "alpha beta gamma", {"low": 0.5, "high": 1.5}, 0.0),     # 0.6 inside a wider band
    ("", "", {}, 0.0),                                              # nothing said, nothing written
    ("", "hello", {}, -1.0),                                        # nothing said, something written
])
def test_length_ratio(ref, hyp, params, expected):
    assert score("length_ratio", ref, hyp, **params) == pytest.approx(expected)


@pytest.mark.parametrize("name,params,setting", [
    ("neg_errors", {"scale": 0.0}, "neg_errors.scale"),
    ("neg_errors", {"scale": float("nan")}, "neg_errors.scale"),
    ("neg_errors", {"scale": True}, "neg_errors.scale"),            # a bool is not a number here
    ("hallucination", {"max_repeat_rate": float("nan")}, "max_repeat_rate"),
    ("hallucination", {"max_repeat_rate": -0.1}, "max_repeat_rate"),
    ("hallucination", {"max_repeat_rate": 1.5}, "max_repeat_rate"),
    ("hallucination", {"ngram": 0}, "hallucination.ngram"),
    ("hallucination", {"ngram": 2.5}, "hallucination.ngram"),
    ("hallucination", {"max_insertions": -1}, "max_insertions"),
    ("hallucination", {"min_latin_fraction": 2.0}, "min_latin_fraction"),
    ("length_ratio", {"low": 1.2, "high": 0.8}, "set low below high"),
    ("length_ratio", {"low": 1.0, "high": 1.0}, "set low below high"),
    ("length_ratio", {"low": -0.1}, "length_ratio.low"),
    ("length_ratio", {"high": float("inf")}, "length_ratio.high"),
])
def test_factories_reject_bad_settings(name, params, setting):
    with pytest.raises(ValueError, match=setting):
        make_reward(name, **params)


def test_unknown_reward_lists_known_names():
    with pytest.raises(ValueError, match="unknown reward 'bleu'") as e:
        make_reward("bleu")
    assert all(name in str(e.value) for name in REGISTRY)


def test_unknown_setting_lists_valid_ones():
    with pytest.raises(ValueError, match="no setting width; valid settings: high, low"):
        make_reward("length_ratio", width=0.4)
    with pytest.raises(ValueError, match="takes no settings"):
        make_reward("wer", scale=2.0)


def test_registry_is_renderable_and_defaults_build():
    # every spec describes itself in plain data, and its defaults pass its own validation
    for name, spec in REGISTRY.items():
        data = json.loads(json.dumps(spec.to_dict()))
        assert data["name"] == name and data["description"]
        assert all(p["help"] for p in data["params"].values())
        fn = make_reward(name)
        out = fn(["hello world"], reference=["hello world"], keywords=[["world"]])
        assert len(out) == 1 and (out[0] is None or math.isfinite(out[0]))
    assert {"wer", "cer", "exact_match", "neg_errors", "hallucination", "keyword", "length_ratio"} <= set(REGISTRY)


BATCH = dict(reference=["smith met jones", "hello world"], keywords=[["smith", "jones"], []])
COMPLETIONS = ["smith met", "hello word"]


def test_combination_is_weighted_nansum():
    reward = compose([("wer", 1.0), ("keyword", 2.0)])
    result = reward(COMPLETIONS, **BATCH)
    # row 0: wer 1 - 1/3 (jones deleted); keyword P = 1, R = 1/2 -> 0.75; total 2/3 + 2 * 0.75
    # row 1: wer 1 - 1/2 (world -> word); keyword None -> NaN, dropped; total 0.5
    expected = np.array([[2 / 3, 0.75], [0.5, np.nan]])
    np.testing.assert_allclose(result.matrix, expected)
    np.testing.assert_allclose(result.total, [2 / 3 + 1.5, 0.5])
    np.testing.assert_allclose(result.total, np.nansum(result.matrix * result.weights, axis=1))
    assert result.names == ("wer", "keyword")
    assert result.metrics() == pytest.approx({"reward/wer": (2 / 3 + 0.5) / 2, "reward/keyword": 0.75,
                                              "reward/total": (2 / 3 + 1.5 + 0.5) / 2})


def test_all_none_row_gives_nan_total():
    result = compose([("keyword", 1.0)])(["hello", "smith"], reference=["hello", "smith"],
                                         keywords=[[], ["smith"]])
    # row 0: no keywords -> no term applies -> NaN (np.nansum alone would say 0.0); row 1: P = R = 1
    assert math.isnan(result.total[0]) and result.total[1] == 1.0


@pytest.mark.parametrize("terms,message", [
    ([], "no reward terms"),
    ([("wer", 1.0), ("cer", -1.0)], "reward weights sum to 0; give at least one reward a positive weight"),
    ([("wer", 0.0)], "reward weights sum to 0"),
    ([("wer", float("nan"))], "weight of reward 'wer' is nan"),
    ([("wer", float("inf"))], "weight of reward 'wer' is inf"),
    ([("wer", "1")], "weight of reward 'wer' must be a number"),
    ([("bleu", 1.0)], "unknown reward 'bleu'; choose one of: .*wer"),
    ([("length_ratio", 1.0, {"width": 1})], "valid settings: high, low"),
    ([("length_ratio", 1.0, {"low": float("nan")})], "length_ratio.low is nan"),
    ([("wer", 1.0), ("wer", 0.5)], "appears twice"),
    (["wer"], r"\(name, weight\)"),
])
def test_compose_rejects(terms, message):
    with pytest.raises(ValueError, match=message):
        compose(terms)


@pytest.mark.parametrize("batch,message", [
    (dict(reference=["only one"]), "2 completions but 1 reference"),
    (dict(keywords=[[], []]), r"needs batch\['reference'\]"),
])
def test_batch_must_match_completions(batch, message):
    with pytest.raises(ValueError, match=message):
        compose([("wer", 1.0)])(COMPLETIONS, **batch)


def test_json_round_trip_gives_identical_totals():
    reward = compose([("wer", 1.0), ("keyword", 0.5), ("hallucination", 2.0, {"max_insertions": 1}),
                      ("length_ratio", 0.25, {"low": 0.9})])
    data = json.loads(json.dumps(reward.to_json()))
    # defaults are written out, so the file alone reproduces the reward
    assert data["terms"][3] == {"name": "length_ratio", "weight": 0.25, "params": {"low": 0.9, "high": 1.2}}
    again = CombinedReward.from_json(data)
    assert again.to_json() == data
    np.testing.assert_array_equal(again(COMPLETIONS, **BATCH).total, reward(COMPLETIONS, **BATCH).total)


@pytest.mark.parametrize("data", [
    {"terms": "wer"},
    {"terms": [{"name": "wer", "weight": 1.0, "code": "__import__('os')"}]},
    {"terms": [{"name": "wer"}]},
    {"terms": [{"name": "wer", "weight": 1.0, "params": [1]}]},
    [("wer", 1.0)],
])
def test_from_json_rejects_malformed(data):
    with pytest.raises(ValueError):
        CombinedReward.from_json(data)
