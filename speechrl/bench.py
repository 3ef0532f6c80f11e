"""Benchmarks that write JSON figures (tests check behaviour; speed and gains are measured here).

    python -m speechrl.bench asr-grpo [--quick] [--models whisper-tiny.en llm-asr] [--minutes 15]

asr-grpo: for each model, WER on the held-out short test set and insertion rate on the long set
before and after a GRPO run, the run's wall time, steps, per-phase seconds, and peak device bytes
with alternation on vs off (two extra steps each, same process).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch


def _eval(policy, items) -> dict:
    from .eval import evaluate_asr

    return evaluate_asr(policy.eval(), items, quiet=True)["totals"]


def _peak(model: str, corpus: str, alternate: bool, run_dir: Path) -> dict:
    from .rl.grpo import GRPOConfig
    from .rl.trainer import RunConfig, train

    cfg = RunConfig(model=model, corpus=corpus, max_steps=2, eval_items=1, eval_every=100, checkpoint_every=100,
                    alternate=alternate, run_dir=str(run_dir), grpo=GRPOConfig(num_generations=4, beta=0.04))
    run = train(cfg, quiet=True)
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    keys = {k for r in rows for k in r if k.endswith("_bytes")}
    peaks = {k: max(r.get(k, 0) for r in rows) for k in sorted(keys)}
    return {"peak_bytes": max(peaks.values()), "per_phase_bytes": peaks}


def asr_grpo(models: list[str], minutes: float, quick: bool, corpus: str, out: Path) -> dict:
    from .data.corpus import load
    from .models.load import load_asr
    from .paths import corpus_dir, runs_dir
    from .rl.grpo import GRPOConfig
    from .rl.trainer import RunConfig, train

    test = load(corpus_dir(corpus), "test")[:40 if quick else None]
    long = load(corpus_dir(corpus), "long")[:3 if quick else 20]
    rows = []
    for model in models:
        torch.manual_seed(0)
        before_short, before_long = _eval(load_asr(model), test), _eval(load_asr(model), long)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        cfg = RunConfig(model=model, corpus=corpus, max_steps=3 if quick else 10_000, max_minutes=0 if quick else minutes,
                        eval_items=8 if quick else 32, eval_every=50, checkpoint_every=50,
                        run_dir=str(runs_dir() / f"bench-{model.replace('/', '_')}-{stamp}"),
                        rewards=[["wer", 1.0, {}], ["hallucination", 0.5, {}]],
                        grpo=GRPOConfig(num_generations=8, per_device_train_batch_size=2, learning_rate=1e-5, beta=0.04,
                                        temperature=0.8))
        t0 = time.perf_counter()
        run = train(cfg, quiet=False)
        wall = time.perf_counter() - t0
        metrics = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
        steps = [m for m in metrics if "reward/total" in m]
        phase_s = {k: round(sum(m.get(k, 0) for m in steps), 1) for k in steps[0] if k.endswith("_s")} if steps else {}
        after = load_asr(str(run / "final"))
        after_short, after_long = _eval(after, test), _eval(after, long)
        on = _peak(model, corpus, True, run.parent / f"{run.name}-alt-on")
        off = _peak(model, corpus, False, run.parent / f"{run.name}-alt-off")
        rows.append({
            "model": model, "run": str(run), "steps": len(steps), "wall_s": round(wall, 1),
            "short_wer": {"before": before_short["wer"], "after": after_short["wer"],
                          "relative_change": round((after_short["wer"] - before_short["wer"]) / max(1e-9, before_short["wer"]), 4)},
            "long_insertion_rate": {"before": before_long["insertion_rate"], "after": after_long["insertion_rate"],
                                    "relative_change": round((after_long["insertion_rate"] - before_long["insertion_rate"])
                                                             / max(1e-9, before_long["insertion_rate"]), 4)},
            "long_wer": {"before": before_long["wer"], "after": after_long["wer"]},
            "phase_seconds": phase_s, "peak_bytes_alternate_on": on["peak_bytes"],
            "peak_bytes_alternate_off": off["peak_bytes"], "per_phase_bytes_on": on["per_phase_bytes"],
            "test_items": len(test), "long_items": len(long)})
        print(json.dumps(rows[-1], indent=2), file=sys.stderr)
    report = {"bench": "asr-grpo", "quick": quick, "device": "cuda" if torch.cuda.is_available() else "cpu",
              "rows": rows}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    return report


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m speechrl.bench")
    sub = p.add_subparsers(dest="bench", required=True)
    a = sub.add_parser("asr-grpo", help="WER / insertions before and after GRPO; alternation peak bytes")
    a.add_argument("--models", nargs="+", default=["whisper-tiny.en", "llm-asr"])
    a.add_argument("--minutes", type=float, default=15.0, help="training budget per model")
    a.add_argument("--quick", action="store_true", help="3 steps on 40 test and 3 long items")
    a.add_argument("--corpus", default="default")
    a.add_argument("--out", help="JSON path (default: <data dir>/bench/asr-grpo.json)")
    args = p.parse_args(argv)
    from .paths import data_dir

    out = Path(args.out) if args.out else data_dir() / "bench" / f"asr-grpo{'-quick' if args.quick else ''}.json"
    report = asr_grpo(args.models, args.minutes, args.quick, args.corpus, out)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
