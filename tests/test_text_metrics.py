"""Normalizer and metrics, table-driven; the arithmetic is in the comments."""
from __future__ import annotations

import pytest

from speechrl.metrics import (char_errors, cer, insertion_rate, keyword_score, repeated_ngram_rate,
                              wer, word_errors)
from speechrl.text import latin_fraction, normalize


@pytest.mark.parametrize("raw,expected", [
    ("Hello, World!", "hello world"),
    ("Mr. Smith paid forty-two dollars.", "mister smith paid $42"),
    ("The colour of the theatre", "the color of the theater"),     # British -> American spelling
    ("I'm going to Chicago", "i am going to chicago"),
    ("  lots   of   space ", "lots of space"),
])
def test_normalize(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize("ref,hyp,s,d,i,rate", [
    # identical after normalization -> 0 errors
    ("Send 42 boxes.", "send forty two boxes", 0, 0, 0, 0.0),
    # 1 substitution (box->fox) over 4 words -> 1/4
    ("send the box now", "send the fox now", 1, 0, 0, 0.25),
    # 1 deletion (the) over 4 words -> 1/4
    ("send the box now", "send box now", 0, 1, 0, 0.25),
    # 2 insertions (very very) over 4 words -> 2/4
    ("send the box now", "send the very very box now", 0, 0, 2, 0.5),
    # everything deleted: 4 deletions / 4 words = 1.0
    ("send the box now", "", 0, 4, 0, 1.0),
    # b->x (S), d dropped (D), g added (I): 3 errors over 6 words -> 0.5
    ("a b c d e f", "a x c e f g", 1, 1, 1, 0.5),
])
def test_word_errors(ref, hyp, s, d, i, rate):
    e = word_errors(ref, hyp)
    assert (e.substitutions, e.deletions, e.insertions) == (s, d, i)
    assert wer(ref, hyp) == pytest.approx(rate)


def test_corpus_wer_sums_counts_not_rates():
    # pair 1: 1 error / 2 words; pair 2: 0 errors / 8 words -> (1 + 0) / (2 + 8) = 0.1, not mean(0.5, 0) = 0.25
    refs = ["hello world", "the cat sat on the mat all day"]
    hyps = ["hello word", "the cat sat on the mat all day"]
    assert wer(refs, hyps) == pytest.approx(0.1)


def test_empty_reference_counts_insertions():
    # nothing said, 3 words written: 3 insertions, rate 3 (per utterance, N = 0)
    e = word_errors("", "ghost words here")
    assert (e.insertions, e.ref_len) == (3, 0)
    assert e.rate == 3.0


def test_mismatched_lengths():
    with pytest.raises(ValueError, match="one hypothesis per reference"):
        wer(["a", "b"], ["a"])


@pytest.mark.parametrize("ref,hyp,rate", [
    # "cat" vs "cut": 1 substitution over 3 characters -> 1/3
    ("cat", "cut", 1 / 3),
    # "abc" vs "abcd": 1 insertion over 3 characters
    ("abc", "abcd", 1 / 3),
    # "ab cd" vs "ab cd": 0
    ("ab cd", "AB CD", 0.0),
])
def test_cer(ref, hyp, rate):
    assert cer(ref, hyp) == pytest.approx(rate)
    assert char_errors(ref, hyp).ref_len == len(ref)


def test_insertion_rate():
    # reference 4 words; hypothesis adds "thank you for watching" -> 4 insertions / 4 words = 1.0
    assert insertion_rate("see you next week", "see you next week thank you for watching") == pytest.approx(1.0)


@pytest.mark.parametrize("hyp,rate", [
    # 5 words -> 1 five-gram, no repeats
    ("a b c d e", 0.0),
    # 10 words, a loop of 5: 6 five-grams, 5 distinct -> 1/6
    ("a b c d e a b c d e", 1 / 6),
    # 15 words, 3 loops: 11 five-grams, 5 distinct -> 6/11
    ("a b c d e a b c d e a b c d e", 6 / 11),
    # fewer than 5 words -> no five-grams -> 0
    ("a b c", 0.0),
])
def test_repeated_ngram_rate(hyp, rate):
    assert repeated_ngram_rate(hyp) == pytest.approx(rate)


@pytest.mark.parametrize("ref,hyp,keywords,p,r", [
    # both keywords said once and written once -> P = 2/2, R = 2/2
    ("Send it to Maria in Chicago", "send it to maria in chicago", ["Maria", "Chicago"], 1.0, 1.0),
    # Chicago missed: TP 1, written 1, said 2 -> P = 1/1, R = 1/2
    ("Send it to Maria in Chicago", "send it to maria in chikago", ["Maria", "Chicago"], 1.0, 0.5),
    # Maria written twice, said once: TP min(1,2)=1 + Chicago 1 = 2; written 3 -> P = 2/3; R = 2/2
    ("Send it to Maria in Chicago", "maria send it to maria in chicago", ["Maria", "Chicago"], 2 / 3, 1.0),
    # multi-word keyword, normalized: "Coca Cola" said and written -> 1/1
    ("I like Coca Cola", "i like coca cola", ["Coca Cola"], 1.0, 1.0),
    # no keyword written -> precision undefined (None), recall 0/1
    ("Call Maria", "call mario", ["Maria"], None, 0.0),
])
def test_keyword_score(ref, hyp, keywords, p, r):
    k = keyword_score(ref, hyp, keywords)
    assert k.precision == (pytest.approx(p) if p is not None else None)
    assert k.recall == pytest.approx(r)


@pytest.mark.parametrize("text,fraction", [
    ("hello world", 1.0),
    ("你好", 0.0),
    ("hello 你好", 5 / 7),   # 5 Latin letters of 7 letters
    ("123 !!", 1.0),         # no letters at all
])
def test_latin_fraction(text, fraction):
    assert latin_fraction(text) == pytest.approx(fraction)
