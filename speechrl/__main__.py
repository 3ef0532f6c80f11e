"""Command line: `python -m speechrl data build|check ...`."""
from __future__ import annotations

import argparse
import json
import sys


def _data_build(a: argparse.Namespace) -> int:
    from .data.corpus import CorpusSpec, build
    from .paths import corpus_dir

    spec = CorpusSpec(size=a.size, long=a.long, seed=a.seed, workers=a.workers, word_fraction=a.word_fraction)
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


def _eval_asr(a: argparse.Namespace) -> int:
    import torch

    from .data.corpus import load
    from .eval import evaluate_asr, write_report
    from .models.load import load_asr
    from .paths import corpus_dir, data_dir, safe_name

    torch.manual_seed(0)
    items = load(a.corpus or corpus_dir(), a.set)
    if not items:
        print(f"error: split {a.set!r} of the corpus is empty", file=sys.stderr)
        return 1
    items = items[:a.limit] if a.limit else items
    policy = load_asr(a.model, device=a.device).eval()
    report = evaluate_asr(policy, items, batch_size=a.batch_size)
    report["totals"].update(model=a.model, set=a.set)
    out = a.out or data_dir() / "evals" / f"{safe_name(a.model)}-{a.set}"
    js, cs = write_report(report, out)
    print(json.dumps(report["totals"], indent=2))
    print(f"wrote {js} and {cs}", file=sys.stderr)
    return 0


def _pretrain_asr(a: argparse.Namespace) -> int:
    from .pretrain import PretrainConfig, pretrain_asr

    cfg = PretrainConfig(minutes=a.minutes, max_steps=a.max_steps, batch_size=a.batch_size,
                         learning_rate=a.learning_rate, corpora=a.corpora, out=a.out or "", seed=a.seed,
                         max_items_per_corpus=a.max_items)
    summary = pretrain_asr(cfg)
    print(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=2))
    return 0


def _train(a: argparse.Namespace) -> int:
    from .rl.trainer import RunConfig, train

    cfg = RunConfig.from_json(a.config)
    if a.run_dir:
        cfg.run_dir = a.run_dir
    run = train(cfg)
    print(f"run finished: {run}", file=sys.stderr)
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
    b.add_argument("--word-fraction", type=float, default=0.0,
                   help="share of utterances that are random common-word sequences (open vocabulary)")
    b.set_defaults(func=_data_build)
    c = data.add_parser("check", help="validate a manifest and report every bad line")
    c.add_argument("manifest")
    c.set_defaults(func=_data_check)
    ev = sub.add_parser("eval", help="evaluate a model").add_subparsers(dest="task", required=True)
    e = ev.add_parser("asr", help="WER with S/D/I, insertion rate, repeated 5-grams on a corpus split")
    e.add_argument("--model", default="whisper-tiny.en",
                   help="whisper-tiny.en | llm-asr | llm-asr-smollm2 | tiny | a checkpoint folder")
    e.add_argument("--set", default="test", choices=["train", "dev", "test", "long"])
    e.add_argument("--corpus", help="corpus folder (default: the default corpus)")
    e.add_argument("--limit", type=int, help="evaluate only the first N items")
    e.add_argument("--batch-size", type=int, default=8)
    e.add_argument("--device", default=None, help="cpu, cuda, ... (default: cpu)")
    e.add_argument("--out", help="report path without suffix (default: <data dir>/evals/<model>-<set>)")
    e.set_defaults(func=_eval_asr)
    pre = sub.add_parser("pretrain", help="train the shipped small models").add_subparsers(dest="task", required=True)
    pa = pre.add_parser("asr", help="LLM-ASR default: Whisper tiny.en encoder + projector + small LM")
    pa.add_argument("--minutes", type=float, default=60.0, help="training wall-clock budget (default 60)")
    pa.add_argument("--max-steps", type=int, default=100_000)
    pa.add_argument("--batch-size", type=int, default=32)
    pa.add_argument("--learning-rate", type=float, default=1e-3)
    pa.add_argument("--corpora", nargs="+", default=["pretrain-asr", "default"],
                    help="corpus names in the data directory; their train splits are used")
    pa.add_argument("--out", help="checkpoint folder (default: speechrl/checkpoints/llm-asr)")
    pa.add_argument("--seed", type=int, default=0)
    pa.add_argument("--max-items", type=int, default=0, help="use at most N train items of each corpus (0: all)")
    pa.set_defaults(func=_pretrain_asr)
    t = sub.add_parser("train", help="GRPO fine-tune from a run config (JSON)")
    t.add_argument("config", help="RunConfig as JSON (the web app writes the same file)")
    t.add_argument("--run-dir", help="run folder; an existing one with a checkpoint resumes")
    t.set_defaults(func=_train)
    a = p.parse_args(argv)
    try:
        return a.func(a)
    except (ValueError, RuntimeError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
