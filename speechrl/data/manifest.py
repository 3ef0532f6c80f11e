"""Manifests: JSON Lines, one utterance a line.

Required keys: `audio` (path, relative to the manifest's folder or absolute) and `text`.
Optional: `id`, `speaker`, `keywords` (list of words/phrases), `duration` (seconds), `split`,
`segments` (long audio: list of {start, end, text}). Unknown keys are kept in `extra`.

Reading validates every line and reports *all* bad lines with their numbers in one
`ManifestError`, instead of stopping at the first.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

REQUIRED = ("audio", "text")
KNOWN = ("id", "audio", "text", "speaker", "keywords", "duration", "split", "segments")


class ManifestError(ValueError):
    """A manifest has bad lines; `problems` holds (line number, message) pairs."""

    def __init__(self, path: str | os.PathLike, problems: list[tuple[int, str]]):
        self.path, self.problems = str(path), problems
        shown = "\n".join(f"  line {n}: {msg}" if n else f"  {msg}" for n, msg in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{path}: {len(problems)} bad line(s); fix them and load again:\n{shown}{more}")


@dataclass
class Item:
    """One utterance of a manifest; `audio` is an absolute path once read."""

    audio: str
    text: str
    id: str = ""
    speaker: str = ""
    keywords: list[str] = field(default_factory=list)
    duration: float = 0.0
    split: str = ""
    segments: list[dict] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def to_json(self, relative_to: str | os.PathLike | None = None) -> dict:
        d = asdict(self)
        extra = d.pop("extra")
        if relative_to is not None:
            try:
                d["audio"] = os.path.relpath(self.audio, relative_to)
            except ValueError:  # another drive on Windows
                pass
        if not d["segments"]:
            d.pop("segments")
        return {**d, **extra}


def _check(obj: object, base: Path, check_audio: bool) -> tuple[Item | None, list[str]]:
    if not isinstance(obj, dict):
        return None, [f"expected a JSON object, got {type(obj).__name__}"]
    errs = [f"missing key {k!r}" for k in REQUIRED if k not in obj]
    if errs:
        return None, errs
    audio, text = obj["audio"], obj["text"]
    if not isinstance(audio, str) or not audio.strip():
        errs.append("'audio' must be a non-empty path string")
    if not isinstance(text, str):
        errs.append("'text' must be a string")
    kw = obj.get("keywords", [])
    if not (isinstance(kw, list) and all(isinstance(k, str) for k in kw)):
        errs.append("'keywords' must be a list of strings")
    dur = obj.get("duration", 0.0)
    if not isinstance(dur, (int, float)) or isinstance(dur, bool) or not (dur >= 0):
        errs.append("'duration' must be a number of seconds >= 0")
    for key in ("id", "speaker", "split"):
        if key in obj and not isinstance(obj[key], str):
            errs.append(f"{key!r} must be a string")
    if errs:
        return None, errs
    path = Path(audio) if os.path.isabs(audio) else base / audio
    if check_audio and not path.is_file():
        return None, [f"audio file not found: {path}"]
    item = Item(audio=str(path), text=text, id=obj.get("id", ""), speaker=obj.get("speaker", ""),
                keywords=list(kw), duration=float(dur), split=obj.get("split", ""),
                segments=list(obj.get("segments", []) or []),
                extra={k: v for k, v in obj.items() if k not in KNOWN})
    return item, []


def read_manifest(path: str | os.PathLike, check_audio: bool = True) -> list[Item]:
    """All items of a manifest, or a `ManifestError` listing every bad line.

    Ids default to `<file stem>-<line>` when absent; duplicate ids are an error."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(path, [(0, "manifest not found; check the path")])
    raw = path.read_bytes()
    if not raw.strip():
        raise ManifestError(path, [(0, "manifest is empty; it needs one JSON object per line")])
    items, problems, seen = [], [], {}
    for n, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line.decode("utf-8"))
        except UnicodeDecodeError as e:
            problems.append((n, f"not UTF-8 (byte {e.start}); save the file as UTF-8"))
            continue
        except json.JSONDecodeError as e:
            problems.append((n, f"not valid JSON ({e.msg} at column {e.colno})"))
            continue
        item, errs = _check(obj, path.parent, check_audio)
        problems += [(n, e) for e in errs]
        if item is None:
            continue
        item.id = item.id or f"{path.stem}-{n}"
        if item.id in seen:
            problems.append((n, f"duplicate id {item.id!r} (first on line {seen[item.id]})"))
            continue
        seen[item.id] = n
        items.append(item)
    if problems:
        raise ManifestError(path, problems)
    return items


def write_manifest(path: str | os.PathLike, items: Iterable[Item], relative: bool = True) -> Path:
    """Write items as JSON Lines atomically; audio paths relative to the manifest's folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    base = path.parent if relative else None
    with open(tmp, "w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(item.to_json(base), ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path
