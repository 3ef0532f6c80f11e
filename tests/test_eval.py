"""Evaluation reports: per-utterance rows with S/D/I, corpus totals, JSON and CSV."""
from __future__ import annotations

import csv
import json

import pytest

from speechrl.data.corpus import load
from speechrl.data.manifest import Item
from speechrl.eval import evaluate_asr, score, totals, write_report
from speechrl.models.llm_asr import tiny_llm_asr


def _item(text):
    return Item(audio="x.wav", text=text, id=text[:5], duration=1.0)


def test_totals_sum_counts():
    # utt 1: "a b c d" vs "a b c d e" -> 1 insertion / 4 words; utt 2: "x y" vs "x" -> 1 deletion / 2 words
    rows = [score(_item("a b c d"), "a b c d e"), score(_item("x y"), "x")]
    t = totals(rows)
    assert (t["insertions"], t["deletions"], t["ref_words"]) == (1, 1, 6)
    assert t["wer"] == pytest.approx(2 / 6, abs=1e-4) and t["insertion_rate"] == pytest.approx(1 / 6, abs=1e-4)


def test_repetition_is_measured():
    # 10 words looping a 5-gram: 6 five-grams, 5 distinct -> 1/6
    r = score(_item("the cat sat on mats"), "the cat sat on mats the cat sat on mats")
    assert r.repeated_5gram_rate == pytest.approx(1 / 6, abs=1e-4) and r.insertions == 5


def test_evaluate_and_write(small_corpus, tmp_path):
    items = load(small_corpus)[:4]
    report = evaluate_asr(tiny_llm_asr(), items, batch_size=2, quiet=True)
    assert len(report["rows"]) == 4 and report["totals"]["utterances"] == 4
    assert report["totals"]["ref_words"] == sum(r["ref_words"] for r in report["rows"])
    js, cs = write_report(report, tmp_path / "whisper-tiny.en-test")     # a dot in the name stays
    assert js.name == "whisper-tiny.en-test.json"
    assert json.loads(js.read_text())["totals"]["wer"] == report["totals"]["wer"]
    with open(cs) as f:
        assert [r["id"] for r in csv.DictReader(f)] == [i.id for i in items]
