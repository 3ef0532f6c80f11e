"""ASR metrics on normalized text: WER/CER with S/D/I (jiwer), insertion rate, repeated n-gram
rate (the long-form hallucination measures of Distil-Whisper), keyword precision and recall."""
from __future__ import annotations

from dataclasses import dataclass

import jiwer

from .text import count_phrase, ngrams, normalize


@dataclass(frozen=True)
class ErrorCounts:
    """Alignment counts of hypotheses against references (words or characters)."""

    substitutions: int
    deletions: int
    insertions: int
    hits: int

    @property
    def ref_len(self) -> int:
        return self.substitutions + self.deletions + self.hits

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """(S + D + I) / N; with an empty reference, 0.0 if nothing was inserted, else 1.0 per word."""
        if self.ref_len == 0:
            return float(self.insertions)
        return self.errors / self.ref_len

    @property
    def insertion_rate(self) -> float:
        """I / N: words the model wrote that were not said, per reference word."""
        return self.insertions / self.ref_len if self.ref_len else float(self.insertions)

    def __add__(self, other: "ErrorCounts") -> "ErrorCounts":
        return ErrorCounts(self.substitutions + other.substitutions, self.deletions + other.deletions,
                           self.insertions + other.insertions, self.hits + other.hits)


ZERO = ErrorCounts(0, 0, 0, 0)


def _as_list(x: str | list[str]) -> list[str]:
    return [x] if isinstance(x, str) else list(x)


def _counts(out) -> ErrorCounts:
    return ErrorCounts(out.substitutions, out.deletions, out.insertions, out.hits)


def word_errors(reference: str | list[str], hypothesis: str | list[str], normalized: bool = True) -> ErrorCounts:
    """Word alignment counts, summed over the pairs (corpus-level, as WER is reported)."""
    refs, hyps = _as_list(reference), _as_list(hypothesis)
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses; give one hypothesis per reference")
    total = ZERO
    for r, h in zip(refs, hyps):
        r, h = (normalize(r), normalize(h)) if normalized else (r, h)
        if not r.split():
            total += ErrorCounts(0, 0, len(h.split()), 0)
            continue
        total += _counts(jiwer.process_words(r, h if h.split() else ""))
    return total


def char_errors(reference: str | list[str], hypothesis: str | list[str], normalized: bool = True) -> ErrorCounts:
    """Character alignment counts (spaces count as characters, as jiwer.cer does)."""
    refs, hyps = _as_list(reference), _as_list(hypothesis)
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses; give one hypothesis per reference")
    total = ZERO
    for r, h in zip(refs, hyps):
        r, h = (normalize(r), normalize(h)) if normalized else (r, h)
        if not r:
            total += ErrorCounts(0, 0, len(h), 0)
            continue
        total += _counts(jiwer.process_characters(r, h))
    return total


def wer(reference, hypothesis, normalized: bool = True) -> float:
    """Word error rate (S + D + I) / N after Whisper normalization."""
    return word_errors(reference, hypothesis, normalized).rate


def cer(reference, hypothesis, normalized: bool = True) -> float:
    """Character error rate after Whisper normalization."""
    return char_errors(reference, hypothesis, normalized).rate


def insertion_rate(reference, hypothesis, normalized: bool = True) -> float:
    """Inserted words per reference word: the long-audio hallucination proxy."""
    return word_errors(reference, hypothesis, normalized).insertion_rate


def repeated_ngram_rate(hypothesis: str, n: int = 5, normalized: bool = True) -> float:
    """Share of the hypothesis' n-grams that repeat an earlier n-gram (0 = no repetition).

    Distil-Whisper counts repeated 5-gram duplicates to catch looping on long audio; as a rate
    it compares across lengths: "a b c d e a b c d e" has 6 five-grams, 5 distinct -> 1/6."""
    tokens = (normalize(hypothesis) if normalized else hypothesis).split()
    grams = ngrams(tokens, n)
    if not grams:
        return 0.0
    return (len(grams) - len(set(grams))) / len(grams)


@dataclass(frozen=True)
class KeywordScore:
    """Keyword matches of one hypothesis; precision/recall are None when undefined (0 / 0)."""

    true_positives: int
    in_hypothesis: int
    in_reference: int

    @property
    def precision(self) -> float | None:
        return self.true_positives / self.in_hypothesis if self.in_hypothesis else None

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.in_reference if self.in_reference else None


def keyword_score(reference: str, hypothesis: str, keywords: list[str]) -> KeywordScore:
    """Count each keyword (a word or phrase, normalized) in reference and hypothesis.

    A keyword said r times and written h times gives min(r, h) true positives; precision is
    TP over keyword occurrences written, recall TP over keyword occurrences said."""
    ref, hyp = normalize(reference).split(), normalize(hypothesis).split()
    phrases = {tuple(normalize(k).split()) for k in keywords}
    phrases.discard(())
    tp = in_hyp = in_ref = 0
    for phrase in phrases:
        r, h = count_phrase(ref, list(phrase)), count_phrase(hyp, list(phrase))
        tp, in_hyp, in_ref = tp + min(r, h), in_hyp + h, in_ref + r
    return KeywordScore(tp, in_hyp, in_ref)

