"""Before/after evaluation of ASR policies on a corpus split.

Per utterance: reference, hypothesis, WER with substitutions/deletions/insertions, insertion rate
and repeated 5-gram rate; totals are corpus-level (errors summed over words). Written as JSON
(totals + rows) and CSV (rows) for the pages and for diffing runs.
"""
from __future__ import annotations

import csv
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .audio import load_audio
from .data.manifest import Item
from .metrics import repeated_ngram_rate, word_errors


@dataclass(frozen=True)
class UtteranceResult:
    id: str
    split: str
    speaker: str
    duration: float
    reference: str
    hypothesis: str
    wer: float
    substitutions: int
    deletions: int
    insertions: int
    ref_words: int
    insertion_rate: float
    repeated_5gram_rate: float


def score(item: Item, hypothesis: str) -> UtteranceResult:
    """Metrics of one hypothesis against its item's reference."""
    e = word_errors(item.text, hypothesis)
    return UtteranceResult(item.id, item.split, item.speaker, item.duration, item.text, hypothesis,
                           round(e.rate, 4), e.substitutions, e.deletions, e.insertions, e.ref_len,
                           round(e.insertion_rate, 4), round(repeated_ngram_rate(hypothesis), 4))


def totals(rows: list[UtteranceResult]) -> dict:
    """Corpus-level figures: WER = sum(S + D + I) / sum(N)."""
    n = sum(r.ref_words for r in rows) or 1
    s, d, i = (sum(getattr(r, k) for r in rows) for k in ("substitutions", "deletions", "insertions"))
    return {"utterances": len(rows), "ref_words": n, "wer": round((s + d + i) / n, 4),
            "substitutions": s, "deletions": d, "insertions": i, "insertion_rate": round(i / n, 4),
            "repeated_5gram_rate": round(sum(r.repeated_5gram_rate for r in rows) / max(1, len(rows)), 4),
            "audio_seconds": round(sum(r.duration for r in rows), 1)}


def evaluate_asr(policy, items: list[Item], batch_size: int = 8, quiet: bool = False) -> dict:
    """Transcribe items greedily (long audio in chunks) and score them; returns {totals, rows}."""
    from tqdm.auto import tqdm

    rows, t0 = [], time.perf_counter()
    bar = tqdm(total=len(items), desc="evaluating", unit="utt", disable=quiet)
    for k in range(0, len(items), batch_size):
        batch = items[k:k + batch_size]
        hyps = policy.transcribe([load_audio(i.audio) for i in batch], batch_size=batch_size)
        rows += [score(i, h) for i, h in zip(batch, hyps)]
        bar.update(len(batch))
        bar.set_postfix(wer=f"{totals(rows)['wer']:.3f}")
    bar.close()
    out = totals(rows)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    out["real_time_factor"] = round(out["seconds"] / max(1e-9, out["audio_seconds"]), 4)
    return {"totals": out, "rows": [asdict(r) for r in rows]}


def write_report(report: dict, path: str | Path) -> tuple[Path, Path]:
    """`<path>.json` (totals + rows) and `<path>.csv` (rows); `path` has no suffix of its own."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    js, cs = path.parent / f"{path.name}.json", path.parent / f"{path.name}.csv"   # names may hold dots
    js.write_text(json.dumps(report, indent=2))
    with open(cs, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(UtteranceResult.__dataclass_fields__))
        w.writeheader()
        w.writerows(report["rows"])
    return js, cs
