"""The synthetic corpus: distinct sentences with keywords, >= 20 voices, splits by sentence and
voice, long audio with segment times; all audio real and loadable."""
from __future__ import annotations

import json

import pytest

from speechrl.audio import load_audio
from speechrl.data import corpus as corpus_mod
from speechrl.data.corpus import CorpusSpec, load
from speechrl.data.sentences import generate
from speechrl.data.voices import VOICES


def test_sentence_generator_is_distinct_and_deterministic():
    a, b = generate(3000, seed=7), generate(3000, seed=7)
    assert [s.text for s in a] == [s.text for s in b]
    assert len({s.text for s in a}) == 3000
    assert all(s.keywords for s in a)                      # every sentence has names/brands/numbers
    assert all(all(k in s.text for k in s.keywords) for s in a)
    assert any(any(k.isdigit() for k in s.keywords) for s in a)
    assert generate(50, seed=1)[0].text != generate(50, seed=2)[0].text


def test_voices_are_many_and_some_held_out():
    assert len({v.id for v in VOICES}) >= 20
    assert {v.engine for v in VOICES} == {"espeak", "piper", "hibari"}
    assert 0 < sum(v.heldout for v in VOICES) < len(VOICES) // 2


def test_split_is_stable_and_roughly_proportional():
    spec = CorpusSpec(size=100)
    splits = [corpus_mod.split_of(s.text, spec) for s in generate(2000)]
    # 10 % dev and 10 % test expected: 200 each, allow +-60
    assert 140 < splits.count("test") < 260 and 140 < splits.count("dev") < 260


def test_small_corpus(small_corpus):
    items = load(small_corpus)
    short = [i for i in items if i.split != "long"]
    assert len(short) == 40
    assert {i.split for i in items} >= {"train", "long"}
    heldout = {v.id for v in VOICES if v.heldout}
    assert not any(i.speaker in heldout for i in items if i.split == "train")   # voices held out of train
    texts = {}
    for i in short:
        texts.setdefault(i.text, set()).add(i.split)
    assert all(len(s) == 1 for s in texts.values())                              # a sentence in one split
    for i in items[:5] + [i for i in items if i.split == "long"]:
        x = load_audio(i.audio)
        assert abs(len(x) / 16_000 - i.duration) < 0.01
    summary = json.loads((small_corpus / "summary.json").read_text())
    assert summary["items"] == len(items)


def test_long_audio_segments(small_corpus):
    longs = load(small_corpus, "long")
    assert len(longs) == 2
    for item in longs:
        assert 20 <= item.duration <= 30.0
        segs = item.segments
        assert len(segs) >= 3
        assert all(a["end"] < b["start"] for a, b in zip(segs, segs[1:]))    # pauses between parts
        assert item.text == " ".join(s["text"] for s in segs)
        assert segs[-1]["end"] <= item.duration + 1e-3


def test_rebuild_reuses_wavs(small_corpus):
    import time
    t = time.perf_counter()
    corpus_mod.build(small_corpus, CorpusSpec(size=40, long=2, long_min_s=20, long_max_s=30), quiet=True)
    assert time.perf_counter() - t < 30     # nothing re-synthesized: only reads headers and joins long audio


def test_bad_spec():
    with pytest.raises(ValueError, match="at least 10"):
        CorpusSpec(size=3)


@pytest.mark.slow
def test_cli_build_200(tmp_path):
    """The issue's acceptance command: --size 200 gives a valid manifest, >= 20 voices, long audio."""
    import subprocess
    import sys

    out = tmp_path / "c200"
    r = subprocess.run([sys.executable, "-m", "speechrl", "data", "build", "--out", str(out), "--size", "200"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads(r.stdout)
    assert summary["speakers"] >= 20
    assert summary["splits"]["long"]["items"] >= 2
    items = load(out)
    assert len({i.speaker for i in items}) >= 20
    for i in items[::25]:
        load_audio(i.audio)
    check = subprocess.run([sys.executable, "-m", "speechrl", "data", "check", str(out / "manifest.jsonl")],
                           capture_output=True, text=True)
    assert check.returncode == 0 and "all valid" in check.stdout


def test_word_fraction_mixes_open_vocabulary(tmp_path):
    # 100 utterances with word_fraction 0.25 -> 25 common-word sequences (no keywords), 75 template sentences
    shorts, longs = corpus_mod.plan(tmp_path, CorpusSpec(size=100, long=0, word_fraction=0.25))
    assert len(shorts) == 100 and longs == []
    assert sum(1 for s, _, _ in shorts if not s.keywords) == 25
    assert len({s.text for s, _, _ in shorts}) == 100
