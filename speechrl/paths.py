"""Where data and runs live. One data directory (default `./data` beside the code, or the
`SPEECHRL_DATA` environment variable) holds corpora, uploads and runs; nothing else is written."""
from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = "default"


def data_dir() -> Path:
    """The data directory, created on first use."""
    d = Path(os.environ.get("SPEECHRL_DATA") or ROOT / "data").resolve()
    d.mkdir(parents=True, exist_ok=True)
    return d


def corpora_dir() -> Path:
    return data_dir() / "corpora"


def corpus_dir(name: str = DEFAULT_CORPUS) -> Path:
    return corpora_dir() / safe_name(name)


def runs_dir() -> Path:
    return data_dir() / "runs"


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, fallback: str = "item") -> str:
    """A file or folder name that cannot escape its parent: letters, digits, '.', '_', '-' only,
    no leading dots (so no '..' and no hidden files), at most 80 characters."""
    cleaned = _UNSAFE.sub("_", os.path.basename(str(name).replace("\\", "/"))).lstrip(".")[:80]
    return cleaned.strip("_") or fallback


def inside(path: str | os.PathLike, parent: str | os.PathLike) -> bool:
    """True when `path` resolves to `parent` or somewhere below it (symlinks followed)."""
    p, base = Path(path).resolve(), Path(parent).resolve()
    return p == base or base in p.parents
