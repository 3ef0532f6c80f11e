"""The synthetic speech corpus: sentences x voices -> 16 kHz wavs + JSON Lines manifests.

Splits are by sentence *and* by voice: a sentence belongs to exactly one of train/dev/test, and
the held-out voices (`Voice.heldout`) speak only dev and test sentences. A long-audio split joins
utterances of one speaker with pauses into 20-60 s recordings, with per-segment timestamps.

Wav names are content hashes (voice, text, seed), so a rebuild reuses what exists: an interrupted
build resumes, and a bigger build only synthesizes what is new.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

import numpy as np

from ..audio import SAMPLE_RATE, duration, load_audio, write_wav
from .manifest import Item, ManifestError, read_manifest, write_manifest
from .sentences import Sentence, generate, word_sentences
from .voices import VOICES, Voice, check_engines, synthesize

SPLITS = ("train", "dev", "test", "long")
NEURAL_WEIGHT = 2.0        # neural voices are drawn twice as often as each eSpeak voice
PAUSE_S = (0.3, 1.2)       # seconds of silence between utterances in long recordings
LONG_CANDIDATES = 16       # utterances synthesized per long recording (more than 60 s needs)


@dataclass(frozen=True)
class CorpusSpec:
    """What to build. `size` counts short utterances; `long` long recordings (default size // 50, >= 2)."""

    size: int = 3000
    long: int | None = None
    seed: int = 0
    dev_fraction: float = 0.1
    test_fraction: float = 0.1
    long_min_s: float = 20.0
    long_max_s: float = 60.0
    workers: int = 2
    word_fraction: float = 0.0   # share of short utterances that are random common-word sequences

    def __post_init__(self):
        if self.size < 10:
            raise ValueError(f"size={self.size}: build at least 10 utterances so every split gets some")
        if not 0 < self.dev_fraction + self.test_fraction < 1:
            raise ValueError("dev_fraction + test_fraction must be between 0 and 1")
        if not 0 <= self.word_fraction <= 1:
            raise ValueError("word_fraction must be between 0 and 1")
        if not 0 < self.long_min_s <= self.long_max_s:
            raise ValueError("need 0 < long_min_s <= long_max_s")

    @property
    def n_long(self) -> int:
        return max(2, self.size // 50) if self.long is None else self.long


@dataclass(frozen=True)
class Job:
    """One wav to synthesize."""

    voice: Voice
    text: str
    seed: int
    path: str


def split_of(text: str, spec: CorpusSpec) -> str:
    """train/dev/test from a hash of the sentence: stable across sizes and seeds."""
    u = int(hashlib.sha1(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if u < spec.test_fraction:
        return "test"
    return "dev" if u < spec.test_fraction + spec.dev_fraction else "train"


def _pick_voice(rng: random.Random, split: str) -> Voice:
    pool = [v for v in VOICES if split != "train" or not v.heldout]
    weights = [NEURAL_WEIGHT if v.engine != "espeak" else 1.0 for v in pool]
    return rng.choices(pool, weights)[0]


def _wav_path(root: Path, voice: Voice, text: str, seed: int) -> str:
    key = hashlib.sha1(f"{voice.id}|{seed}|{text}".encode()).hexdigest()[:16]
    return str(root / "wavs" / key[:2] / f"{key}.wav")


def _run_job(job: Job) -> float:
    """Synthesize one wav unless it exists; returns its duration in seconds."""
    if os.path.exists(job.path):
        try:
            return duration(job.path)
        except Exception:  # a file from a killed build that is not readable: make it again
            os.remove(job.path)
    x = synthesize(job.voice, job.text, seed=job.seed)
    write_wav(job.path, x)
    return len(x) / SAMPLE_RATE


def plan(out: Path, spec: CorpusSpec) -> tuple[list[tuple[Sentence, Job, str]], list[tuple[Voice, list[tuple[Sentence, Job]]]]]:
    """Short utterances as (sentence, job, split) and long recordings as (voice, candidate parts)."""
    n_long_pool = spec.n_long * LONG_CANDIDATES
    n_words = round(spec.size * spec.word_fraction)
    sentences = generate(spec.size - n_words + n_long_pool, seed=spec.seed)
    short, pool = sentences[:spec.size - n_words], sentences[spec.size - n_words:]
    if n_words:
        short = short + word_sentences(n_words, seed=spec.seed)
        random.Random(spec.seed + 1).shuffle(short)
    rng = random.Random(spec.seed)
    shorts = []
    for s in short:
        split = split_of(s.text, spec)
        voice = _pick_voice(rng, split)
        shorts.append((s, Job(voice, s.text, spec.seed, _wav_path(out, voice, s.text, spec.seed)), split))
    longs = []
    for k in range(spec.n_long):
        voice = VOICES[k % len(VOICES)]
        parts = pool[k * LONG_CANDIDATES:(k + 1) * LONG_CANDIDATES]
        longs.append((voice, [(s, Job(voice, s.text, spec.seed, _wav_path(out, voice, s.text, spec.seed)))
                              for s in parts]))
    return shorts, longs


def join_items(parts: list[Item], path: Path, item_id: str, rng: random.Random, min_s: float, max_s: float,
               split: str = "long") -> Item:
    """One long recording from utterances of one speaker: parts joined with 0.3-1.2 s pauses
    until a random target length in [min_s, max_s], with a segment (start, end, text) per part."""
    target = rng.uniform(min_s, max_s)
    chunks, segments, t, keywords = [], [], 0.0, []
    for part in parts:
        x = load_audio(part.audio)
        pause = np.zeros(int(rng.uniform(*PAUSE_S) * SAMPLE_RATE), np.float32)
        if t + (len(x) + len(pause)) / SAMPLE_RATE > max_s and t >= min_s:
            break
        if chunks:
            chunks.append(pause)
            t += len(pause) / SAMPLE_RATE
        segments.append({"start": round(t, 3), "end": round(t + len(x) / SAMPLE_RATE, 3), "text": part.text})
        chunks.append(x)
        t += len(x) / SAMPLE_RATE
        keywords += [w for w in part.keywords if w not in keywords]
        if t >= target:
            break
    audio = np.concatenate(chunks)
    write_wav(path, audio)
    return Item(audio=str(path), text=" ".join(seg["text"] for seg in segments), id=item_id,
                speaker=parts[0].speaker, keywords=keywords, duration=round(len(audio) / SAMPLE_RATE, 3),
                split=split, segments=segments)


def _join_long(out: Path, k: int, voice: Voice, parts: list[tuple[Sentence, Job]], spec: CorpusSpec) -> Item:
    """The corpus' k-th long recording, from its candidate parts."""
    items = [Item(audio=job.path, text=s.text, speaker=voice.id, keywords=list(s.keywords)) for s, job in parts]
    return join_items(items, out / "long" / f"long-{k:04d}.wav", f"long-{k:04d}",
                      random.Random(spec.seed * 1_000_003 + k), spec.long_min_s, spec.long_max_s)


def build(out: str | os.PathLike, spec: CorpusSpec = CorpusSpec(),
          progress: Callable[[int, int], None] | None = None, quiet: bool = False) -> dict:
    """Build (or complete) a corpus in `out`; returns the summary also written to summary.json.

    progress(done, total) is called as wavs finish; a tqdm bar is shown unless quiet."""
    from tqdm.auto import tqdm

    problems = check_engines()
    if problems:
        raise RuntimeError("cannot synthesize speech:\n  " + "\n  ".join(problems))
    out = Path(out).resolve()
    (out / "wavs").mkdir(parents=True, exist_ok=True)
    for stale in out.rglob(".*.tmp"):  # half-written files of a killed build
        stale.unlink(missing_ok=True)
    t0 = time.perf_counter()
    shorts, longs = plan(out, spec)
    jobs = [job for _, job, _ in shorts] + [job for _, parts in longs for _, job in parts]
    durations: dict[str, float] = {}
    bar = tqdm(total=len(jobs), desc="synthesizing speech", unit="wav", disable=quiet)
    ctx = get_context("spawn")  # safe when called from a threaded web server
    with ProcessPoolExecutor(max_workers=max(1, spec.workers), mp_context=ctx) as pool:
        for job, secs in zip(jobs, pool.map(_run_job, jobs, chunksize=16)):
            durations[job.path] = secs
            bar.update(1)
            if progress:
                progress(bar.n, len(jobs))
    bar.close()
    items = [Item(audio=job.path, text=s.text, id=f"utt-{i:05d}", speaker=job.voice.id,
                  keywords=list(s.keywords), duration=round(durations[job.path], 3), split=split)
             for i, (s, job, split) in enumerate(shorts)]
    items += [_join_long(out, k, voice, parts, spec) for k, (voice, parts) in
              enumerate(tqdm(longs, desc="joining long audio", unit="rec", disable=quiet))]
    write_manifest(out / "manifest.jsonl", items)
    for split in SPLITS:
        write_manifest(out / f"{split}.jsonl", [it for it in items if it.split == split])
    summary = summarize(items)
    summary.update(spec=asdict(spec), build_seconds=round(time.perf_counter() - t0, 1))
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def summarize(items: list[Item]) -> dict:
    """Counts, hours and speakers per split."""
    out: dict = {"items": len(items), "speakers": len({i.speaker for i in items}),
                 "hours": round(sum(i.duration for i in items) / 3600, 3), "splits": {}}
    for split in sorted({i.split for i in items}):
        part = [i for i in items if i.split == split]
        out["splits"][split] = {"items": len(part), "speakers": len({i.speaker for i in part}),
                                "minutes": round(sum(i.duration for i in part) / 60, 2)}
    return out


def load(corpus: str | os.PathLike, split: str | None = None) -> list[Item]:
    """Items of a corpus folder (its manifest.jsonl), optionally one split."""
    manifest = Path(corpus) / "manifest.jsonl"
    if not manifest.is_file():
        raise ManifestError(manifest, [(0, f"no corpus at {Path(corpus)}; build it with "
                                           f"`python -m speechrl data build --out {Path(corpus)}` or pick another")])
    items = read_manifest(manifest)
    return [i for i in items if split is None or i.split == split]


def is_built(corpus: str | os.PathLike) -> bool:
    """True when the folder holds a finished corpus (summary written last)."""
    return (Path(corpus) / "summary.json").is_file() and (Path(corpus) / "manifest.jsonl").is_file()
