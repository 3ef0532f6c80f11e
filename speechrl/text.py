"""Text: Whisper's English normalizer and word/phrase helpers shared by metrics and rewards."""
from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=1)
def _english_normalizer():
    # The maintained package of Whisper's normalizers (spelling map, numbers, contractions).
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def normalize(text: str) -> str:
    """Whisper's English normalization: lower case, no punctuation, numbers as digits,
    British spellings to American, contractions expanded. Applied to references and hypotheses
    alike before any WER."""
    if not isinstance(text, str):
        raise TypeError(f"expected text (str), got {type(text).__name__}")
    return _english_normalizer()(text).strip()


def words(text: str, normalized: bool = True) -> list[str]:
    """Words of `text` after normalization (or a plain whitespace split)."""
    return (normalize(text) if normalized else text).split()


def ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    """All contiguous n-grams, in order."""
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def count_phrase(tokens: list[str], phrase: list[str]) -> int:
    """Non-overlapping occurrences of a word sequence in a word sequence."""
    if not phrase:
        return 0
    count, i, n = 0, 0, len(phrase)
    while i <= len(tokens) - n:
        if tokens[i:i + n] == phrase:
            count += 1
            i += n
        else:
            i += 1
    return count


_LATIN = re.compile(r"[A-Za-z]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


def latin_fraction(text: str) -> float:
    """Share of letters that are Latin (A–Z); 1.0 for text without letters. A low share in an
    English transcript means another script (a translation or a language switch)."""
    letters = _LETTER.findall(text)
    if not letters:
        return 1.0
    return sum(1 for c in letters if _LATIN.match(c)) / len(letters)
