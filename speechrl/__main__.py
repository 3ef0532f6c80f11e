"""Command line: `python -m speechrl data build|check ...`."""
from __future__ import annotations

import argparse
import json
import sys


def _data_build(a: argparse.Namespace) -> int:
    from .data.corpus import CorpusSpec, build
    from .paths import corpus_dir

    spec = CorpusSpec(size=a.size, long=a.long, seed=a.seed, workers=a.workers)
    out = a.out or corpus_dir()
    print(f"building {spec.size} utterances + {spec.n_long} long recordings in {out}", file=sys.stderr)
    summary = build(out, spec)
    print(json.dumps(summary, indent=2))
    return 0


def _data_check(a: argparse.Namespace) -> int:
    from .data.manifest import ManifestError, read_manifest

    try:
        items = read_manifest(a.manifest)
    except ManifestError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"{a.manifest}: {len(items)} items, all valid")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m speechrl", description="SpeechRL Studio command line")
    sub = p.add_subparsers(dest="command", required=True)
    data = sub.add_parser("data", help="speech corpora").add_subparsers(dest="action", required=True)
    b = data.add_parser("build", help="synthesize a corpus offline (eSpeak NG, Piper, Hibari)")
    b.add_argument("--out", help="corpus folder (default: <data dir>/corpora/default)")
    b.add_argument("--size", type=int, default=3000, help="short utterances (default 3000)")
    b.add_argument("--long", type=int, default=None, help="long recordings, 20-60 s (default size // 50)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--workers", type=int, default=2, help="synthesis processes (default 2)")
    b.set_defaults(func=_data_build)
    c = data.add_parser("check", help="validate a manifest and report every bad line")
    c.add_argument("manifest")
    c.set_defaults(func=_data_check)
    a = p.parse_args(argv)
    try:
        return a.func(a)
    except (ValueError, RuntimeError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
