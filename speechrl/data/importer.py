"""Bring outside speech into the data directory as a corpus: from a manifest, or from uploaded
files with transcripts. Every file is validated and re-written as 16 kHz mono WAV under the new
corpus folder (names sanitised), so the app only ever serves files from the data directory.
Nothing is overwritten: an existing corpus name is an error."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..audio import SAMPLE_RATE, AudioError, load_audio, write_wav
from ..paths import corpus_dir, safe_name
from .corpus import summarize
from .manifest import Item, read_manifest, write_manifest


@dataclass
class ImportReport:
    """What an import did: the corpus folder, items kept and (name, reason) of those skipped."""

    corpus: Path
    imported: int
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def message(self) -> str:
        msg = f"Imported {self.imported} item(s) into corpus '{self.corpus.name}'."
        if self.skipped:
            shown = "\n".join(f"- {name}: {why}" for name, why in self.skipped[:20])
            more = f"\n- ... and {len(self.skipped) - 20} more" if len(self.skipped) > 20 else ""
            msg += f"\n\nSkipped {len(self.skipped)}:\n{shown}{more}"
        return msg


def _new_corpus(name: str) -> Path:
    clean = safe_name(name, fallback="")
    if not clean:
        raise ValueError("give the corpus a name (letters, digits, '-', '_')")
    dest = corpus_dir(clean)
    if (dest / "manifest.jsonl").exists():
        raise ValueError(f"a corpus named '{clean}' already exists; choose another name")
    (dest / "wavs").mkdir(parents=True, exist_ok=True)
    return dest


def _store(items: list[Item], dest: Path, skipped: list[tuple[str, str]]) -> ImportReport:
    if not items:
        raise ValueError("nothing to import: every item was rejected\n" +
                         "\n".join(f"- {n}: {w}" for n, w in skipped[:20]))
    write_manifest(dest / "manifest.jsonl", items)
    import json
    (dest / "summary.json").write_text(json.dumps(summarize(items), indent=2))
    return ImportReport(dest, len(items), skipped)


def import_manifest(manifest: str | os.PathLike, name: str) -> ImportReport:
    """Copy a manifest's audio (validated, as 16 kHz WAV) into a new corpus `name`.

    The manifest must be valid as a whole (all bad lines are reported at once); audio that
    fails validation is skipped and listed in the report."""
    items = read_manifest(manifest)
    dest = _new_corpus(name)
    kept, skipped = [], []
    for item in items:
        try:
            x = load_audio(item.audio)
        except AudioError as e:
            skipped.append((item.id, str(e)))
            continue
        wav = write_wav(dest / "wavs" / f"{safe_name(item.id)}.wav", x)
        kept.append(Item(audio=str(wav), text=item.text, id=item.id, speaker=item.speaker,
                         keywords=item.keywords, duration=round(len(x) / SAMPLE_RATE, 3),
                         split=item.split or "train", segments=item.segments, extra=item.extra))
    return _store(kept, dest, skipped)


_LINE = re.compile(r"^\s*([^:|\t]+?)\s*[:|\t]\s*(.+?)\s*$")


def parse_transcripts(text: str, names: list[str]) -> dict[str, str]:
    """Map uploaded file names to transcripts.

    Lines `name: transcript` (or `name|transcript`, `name<TAB>transcript`) match files by name
    or stem; otherwise, with exactly one line per file, lines are taken in file order."""
    lines = [ln for ln in (text or "").splitlines() if ln.strip()]
    stems = {Path(n).stem: n for n in names} | {Path(n).name: n for n in names}
    named = {}
    for ln in lines:
        m = _LINE.match(ln)
        if m and m.group(1) in stems:
            named[stems[m.group(1)]] = m.group(2)
    if named:
        return named
    if len(lines) == len(names):
        return {n: ln.strip() for n, ln in zip(names, lines)}
    raise ValueError(f"{len(names)} file(s) but {len(lines)} transcript line(s); give one line per file, "
                     "either in the same order or as `file name: transcript`")


def import_uploads(files: list[str | os.PathLike], transcripts: str, name: str,
                   speaker: str = "uploaded") -> ImportReport:
    """Validate uploaded audio files, pair them with transcripts, store them as corpus `name`."""
    if not files:
        raise ValueError("no audio files were uploaded; add WAV or FLAC files")
    names = [Path(f).name for f in files]
    texts = parse_transcripts(transcripts, names)
    dest = _new_corpus(name)
    kept, skipped, used = [], [], set()
    for f, n in zip(files, names):
        if n not in texts:
            skipped.append((n, "no transcript line for this file"))
            continue
        try:
            x = load_audio(f)
        except AudioError as e:
            skipped.append((n, str(e).replace(str(f), n)))
            continue
        stem = safe_name(Path(n).stem, fallback="upload")
        uid = stem if stem not in used else f"{stem}-{len(used)}"
        used.add(uid)
        wav = write_wav(dest / "wavs" / f"{uid}.wav", x)
        kept.append(Item(audio=str(wav), text=texts[n], id=uid, speaker=speaker,
                         duration=round(len(x) / SAMPLE_RATE, 3), split="test"))
    return _store(kept, dest, skipped)
