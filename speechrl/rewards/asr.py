"""ASR rewards for GRPO, all on Whisper-normalized text, registered in REGISTRY.

Accuracy: `wer`, `cer`, `exact_match`, `neg_errors`. Failure modes of long-form decoding:
`hallucination` (loops, piled-up insertions, another script), `length_ratio` (far too short or
long). Domain terms: `keyword`. Each takes `completions` and `reference` (one per completion).
"""
from __future__ import annotations

from .core import Param, RewardSpec, batch_column, check_number, register
from ..metrics import char_errors, keyword_score, repeated_ngram_rate, word_errors
from ..text import latin_fraction, normalize

CLIP = (-1.0, 1.0)              # 1 - WER/CER can fall without bound as insertions pile up
MAX_REPEAT_RATE = 0.2           # share of repeated n-grams above which a hypothesis is looping
NGRAM = 5                       # Distil-Whisper's repeated 5-gram measure
MAX_INSERTIONS = 3              # words written beyond the reference (aligned insertions)
MIN_LATIN_FRACTION = 0.5        # share of Latin letters below which the text is another script
HALLUCINATION_PENALTY = -1.0
LENGTH_BAND = (0.8, 1.2)        # hypothesis / reference word counts that cost nothing


def _clip(x: float) -> float:
    return max(CLIP[0], min(CLIP[1], x))


def _pairs(name: str, completions: list[str], batch: dict) -> list[tuple[str, str]]:
    return list(zip(batch_column(name, "reference", completions, batch), completions))


def wer_reward(completions: list[str], **batch) -> list[float]:
    """1 - WER per completion, clipped to [-1, 1]."""
    return [_clip(1.0 - word_errors(r, h).rate) for r, h in _pairs("wer", completions, batch)]


def cer_reward(completions: list[str], **batch) -> list[float]:
    """1 - CER per completion, clipped to [-1, 1]."""
    return [_clip(1.0 - char_errors(r, h).rate) for r, h in _pairs("cer", completions, batch)]


def exact_match_reward(completions: list[str], **batch) -> list[float]:
    """1.0 when the normalized completion equals the normalized reference, else 0.0."""
    return [float(normalize(r) == normalize(h)) for r, h in _pairs("exact_match", completions, batch)]


def get_neg_errors_reward(scale: float = 1.0):
    """-(S + D + I) / scale: the raw word-error count, unbounded (scale > 0)."""
    scale = check_number("neg_errors.scale", scale)
    if scale <= 0:
        raise ValueError(f"neg_errors.scale is {scale}; set it to a positive number")

    def neg_errors_reward(completions: list[str], **batch) -> list[float]:
        """-(S + D + I) / scale per completion."""
        return [-word_errors(r, h).errors / scale for r, h in _pairs("neg_errors", completions, batch)]

    return neg_errors_reward


def get_hallucination_reward(max_repeat_rate: float = MAX_REPEAT_RATE, ngram: int = NGRAM,
                             max_insertions: int = MAX_INSERTIONS,
                             min_latin_fraction: float = MIN_LATIN_FRACTION):
    """-1.0 when a completion loops, inserts too many words, or switches script; else 0.0.

    Triggers: repeated-`ngram` rate > max_repeat_rate; aligned insertions > max_insertions;
    Latin share of its letters < min_latin_fraction."""
    max_repeat_rate = check_number("hallucination.max_repeat_rate", max_repeat_rate, low=0.0, high=1.0)
    ngram = check_number("hallucination.ngram", ngram, low=1, integer=True)
    max_insertions = check_number("hallucination.max_insertions", max_insertions, low=0, integer=True)
    min_latin_fraction = check_number("hallucination.min_latin_fraction", min_latin_fraction, low=0.0, high=1.0)

    def hallucinates(reference: str, hypothesis: str) -> bool:
        text = normalize(hypothesis)
        return (repeated_ngram_rate(text, ngram, normalized=False) > max_repeat_rate
                or word_errors(reference, hypothesis).insertions > max_insertions
                or latin_fraction(text) < min_latin_fraction)

    def hallucination_reward(completions: list[str], **batch) -> list[float]:
        """-1.0 per completion that loops, over-inserts or leaves the Latin script, else 0.0."""
        return [HALLUCINATION_PENALTY if hallucinates(r, h) else 0.0
                for r, h in _pairs("hallucination", completions, batch)]

    return hallucination_reward


def _keyword_value(reference: str, hypothesis: str, keywords) -> float | None:
    keywords = [k for k in (keywords or []) if normalize(k)]
    if not keywords:
        return None                                  # no keywords: not applicable
    score = keyword_score(reference, hypothesis, keywords)
    if score.in_reference == 0:
        # None said (distractors only): 1.0 for writing none, else precision = 0.0.
        return 1.0 if score.in_hypothesis == 0 else 0.0
    precision = score.precision if score.precision is not None else 0.0   # said, none written
    return (precision + score.recall) / 2


def keyword_reward(completions: list[str], **batch) -> list[float | None]:
    """Mean of keyword precision and recall; None for items without keywords."""
    references = batch_column("keyword", "reference", completions, batch)
    keywords = batch_column("keyword", "keywords", completions, batch) if "keywords" in batch \
        else [None] * len(completions)
    return [_keyword_value(r, h, k) for r, h, k in zip(references, completions, keywords)]


def get_length_ratio_reward(low: float = LENGTH_BAND[0], high: float = LENGTH_BAND[1]):
    """0.0 when hypothesis/reference word counts lie in [low, high], else
    -min(1, distance outside the band / (high - low)). Empty reference: 0.0 if the hypothesis
    is empty too, else -1.0."""
    low = check_number("length_ratio.low", low, low=0.0)
    high = check_number("length_ratio.high", high, low=0.0)
    if low >= high:
        raise ValueError(f"length_ratio band is empty (low={low} >= high={high}); set low below high")
    width = high - low

    def penalty(reference: str, hypothesis: str) -> float:
        n_ref, n_hyp = len(normalize(reference).split()), len(normalize(hypothesis).split())
        if n_ref == 0:
            return 0.0 if n_hyp == 0 else -1.0
        ratio = n_hyp / n_ref
        outside = max(low - ratio, ratio - high, 0.0)
        return -min(1.0, outside / width)

    def length_ratio_reward(completions: list[str], **batch) -> list[float]:
        """0.0 inside the word-count ratio band, down to -1.0 one band width outside it."""
        return [penalty(r, h) for r, h in _pairs("length_ratio", completions, batch)]

    return length_ratio_reward


def _fixed(fn):
    return lambda: fn


register(RewardSpec("wer", _fixed(wer_reward), "1 - word error rate, clipped to [-1, 1]."))
register(RewardSpec("cer", _fixed(cer_reward), "1 - character error rate, clipped to [-1, 1]."))
register(RewardSpec("exact_match", _fixed(exact_match_reward),
                    "1 when the normalized transcript equals the reference, else 0."))
register(RewardSpec("neg_errors", get_neg_errors_reward,
                    "Minus the number of word errors (substitutions + deletions + insertions).",
                    {"scale": Param(1.0, "Divide the error count by this (> 0), e.g. a typical utterance length.")}))
register(RewardSpec("hallucination", get_hallucination_reward,
                    "-1 when the transcript loops, adds many words, or switches script; else 0.",
                    {"max_repeat_rate": Param(MAX_REPEAT_RATE, "Looping above this share of repeated n-grams (0–1)."),
                     "ngram": Param(NGRAM, "Length of the n-grams checked for repetition (words)."),
                     "max_insertions": Param(MAX_INSERTIONS, "Most extra words allowed beyond the reference."),
                     "min_latin_fraction": Param(MIN_LATIN_FRACTION,
                                                 "Other script below this share of Latin letters (0–1).")}))
register(RewardSpec("keyword", _fixed(keyword_reward),
                    "Mean of keyword precision and recall; skipped for items without keywords."))
register(RewardSpec("length_ratio", get_length_ratio_reward,
                    "0 when the transcript's length is near the reference's, down to -1 far outside.",
                    {"low": Param(LENGTH_BAND[0], "Shortest free length, as a share of the reference's words."),
                     "high": Param(LENGTH_BAND[1], "Longest free length, as a share of the reference's words.")}))
