"""GRPO for ASR: one loop that reads top to bottom (encode -> rollout -> reward -> advantages ->
update -> log), with device alternation per phase, evaluation, atomic checkpoints and resume.

    python -m speechrl train CONFIG.json

A run directory holds `config.json` (the full RunConfig), `metrics.jsonl` (one line per step and
per evaluation, namespaced keys), `checkpoint/` (policy, optimizer, RNG, step; written atomically)
and `final/` (the trained policy).
"""
from __future__ import annotations

import copy
import json
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..audio import load_audio
from ..data.corpus import load
from ..data.manifest import Item, read_manifest
from ..eval import score, totals
from ..metrics import word_errors
from ..rewards import compose
from .grpo import GRPOConfig, group_advantages, grpo_loss, nonzero_std_groups
from .phases import PhaseLedger


@dataclass
class RunConfig:
    """Everything a run needs; the web app, the CLI and a multi-process launch share it."""

    model: str = "whisper-tiny.en"             # name or checkpoint folder (see speechrl.models.load)
    corpus: str = "default"                    # corpus name in the data directory, or a folder
    train_split: str = "train"                 # or a path to an RL-set manifest (rl.jsonl)
    eval_split: str = "dev"
    eval_items: int = 32
    rewards: list = field(default_factory=lambda: [["wer", 1.0, {}], ["hallucination", 0.5, {}]])
    grpo: GRPOConfig = field(default_factory=GRPOConfig)
    max_steps: int = 20
    max_minutes: float = 0.0                   # stop after this much wall time (0 = no limit)
    eval_every: int = 10
    checkpoint_every: int = 10
    alternate: bool = True                     # move components on/off the device per phase
    device: str = ""                           # "" = cuda when available, else cpu
    run_dir: str = ""                          # default: <data dir>/runs/<time>
    name: str = "asr-grpo"

    def __post_init__(self):
        if isinstance(self.grpo, dict):
            self.grpo = GRPOConfig(**self.grpo)
        if self.max_steps < 1 or self.eval_every < 1 or self.checkpoint_every < 1:
            raise ValueError("max_steps, eval_every and checkpoint_every must be >= 1")
        compose(self.rewards)    # validates reward names, weights and parameters now

    @classmethod
    def from_json(cls, path_or_dict) -> "RunConfig":
        d = path_or_dict if isinstance(path_or_dict, dict) else json.loads(Path(path_or_dict).read_text())
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown run settings {sorted(unknown)}; valid: {sorted(cls.__dataclass_fields__)}")
        return cls(**d)


def _items(cfg: RunConfig, split: str) -> list[Item]:
    from ..paths import corpus_dir

    if split.endswith(".jsonl"):
        return read_manifest(split)
    folder = Path(cfg.corpus) if os.path.isdir(cfg.corpus) else corpus_dir(cfg.corpus)
    items = load(folder, split)
    if not items:
        raise ValueError(f"split {split!r} of corpus {cfg.corpus!r} is empty")
    return items


def evaluate_policy(policy, items: list[Item]) -> dict[str, float]:
    """Greedy WER and insertion rate on items: `eval/wer`, `eval/insertion_rate`."""
    hyps = policy.transcribe([load_audio(i.audio) for i in items])
    t = totals([score(i, h) for i, h in zip(items, hyps)])
    return {"eval/wer": t["wer"], "eval/insertion_rate": t["insertion_rate"]}


def _save_checkpoint(run: Path, policy, opt, step: int, rng: random.Random) -> None:
    """Atomic: write into a temp folder, then swap it in for the old checkpoint."""
    tmp = run / f".checkpoint-{step}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    policy.save_pretrained(tmp)
    torch.save({"optimizer": opt.state_dict(), "step": step, "rng": rng.getstate(),
                "torch_rng": torch.get_rng_state(), "np_rng": np.random.get_state()}, tmp / "trainer_state.pt")
    old = run / "checkpoint"
    if old.exists():
        os.replace(old, run / ".checkpoint-old")
    os.replace(tmp, old)
    shutil.rmtree(run / ".checkpoint-old", ignore_errors=True)


def _log(run: Path, row: dict) -> None:
    with open(run / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def train(cfg: RunConfig, quiet: bool = False) -> Path:
    """Run (or resume) GRPO; returns the run directory."""
    from tqdm.auto import tqdm

    from ..models.load import load_asr
    from ..paths import runs_dir

    g = cfg.grpo
    run = Path(cfg.run_dir or runs_dir() / time.strftime(f"{cfg.name}-%Y%m%d-%H%M%S"))
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    device = torch.device(cfg.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(g.seed)
    rng = random.Random(g.seed)
    resume = (run / "checkpoint" / "trainer_state.pt").is_file()
    policy = load_asr(str(run / "checkpoint") if resume else cfg.model)
    ref = frozen_reference(policy) if g.beta > 0 else None
    reward = compose(cfg.rewards)
    params = [p for p in policy.decoder_modules().parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=g.learning_rate, weight_decay=0.0)
    step = 0
    if resume:
        st = torch.load(run / "checkpoint" / "trainer_state.pt", weights_only=False)
        opt.load_state_dict(st["optimizer"])
        step = st["step"]
        rng.setstate(st["rng"])
        torch.set_rng_state(st["torch_rng"])
        np.random.set_state(st["np_rng"])
        if ref is not None:   # the reference is the run's starting policy, not the checkpoint
            ref = frozen_reference(load_asr(cfg.model))
    ledger = PhaseLedger(device, alternate=cfg.alternate)
    ledger.register("encoder", policy.encoder)
    ledger.register("policy", policy.decoder_modules())
    ledger.register("optimizer", None, opt)          # Adam moments: on the device only to update
    if ref is not None:
        ledger.register("reference", ref.decoder_modules())
    train_items, eval_items = _items(cfg, cfg.train_split), _items(cfg, cfg.eval_split)[:cfg.eval_items]

    if step == 0:
        with ledger.phase("eval", uses=["encoder", "policy"]):
            _log(run, {"step": 0, **evaluate_policy(policy.eval(), eval_items)})
    order: list[int] = []
    bar = tqdm(initial=step, total=cfg.max_steps, desc="GRPO", unit="step", disable=quiet)
    deadline = time.time() + cfg.max_minutes * 60 if cfg.max_minutes > 0 else float("inf")
    while step < cfg.max_steps and time.time() < deadline:
        mark = len(ledger.records)
        # -- data: B utterances, each expanded to G completions --------------------------------
        if len(order) < g.per_device_train_batch_size:
            order += rng.sample(range(len(train_items)), len(train_items))
        b_items = [train_items[order.pop()] for _ in range(g.per_device_train_batch_size)]
        # -- encode: once per utterance ---------------------------------------------------------
        with ledger.phase("encode", uses=["encoder"]):
            feats = policy.encode([load_audio(i.audio) for i in b_items])
        # -- rollout: G samples per utterance, and their log-probs under the sampling policy ----
        with ledger.phase("rollout", uses=["policy"]):
            policy.eval()
            gen = policy.generate(feats, num_return_sequences=g.num_generations, temperature=g.temperature,
                                  top_p=g.top_p, max_new_tokens=g.max_completion_length)
            with torch.no_grad():
                old_logp = policy.log_probs(feats, gen.ids, gen.mask)                 # [B*G, L]
        # -- reward: every term on its own, then the weighted sum -------------------------------
        with ledger.phase("reward", uses=[]):
            refs = [i.text for i in b_items for _ in range(g.num_generations)]
            kws = [i.keywords for i in b_items for _ in range(g.num_generations)]
            res = reward(gen.texts, reference=refs, keywords=kws)
            raw_wer = torch.tensor([word_errors(r, h).rate for r, h in zip(refs, gen.texts)])
            total = torch.tensor(np.nan_to_num(res.total, nan=0.0), dtype=torch.float32)
            adv = group_advantages(total, g.num_generations, g.scale_rewards)
            keep_groups = nonzero_std_groups(raw_wer, g.num_generations)               # [B]
            keep = keep_groups.repeat_interleave(g.num_generations)                   # [B*G]
        mask = gen.mask & ~gen.truncated[:, None] if g.mask_truncated_completions else gen.mask
        metrics = {"step": step + 1, **res.metrics(), "reward/std": float(adv.group_std.mean()),
                   "frac_zero_std": float(1 - keep_groups.float().mean()),
                   "completion_len": float(gen.mask.sum(1).float().mean()), "eval/train_wer": float(raw_wer.mean())}
        if keep.any():
            rows = keep.nonzero().squeeze(1)
            f_keep = feats.rows(gen.ids.shape[0])
            f_keep = type(f_keep)(f_keep.hidden[rows], f_keep.mask[rows])
            ids, m, a, o = gen.ids[rows], mask[rows], adv.advantages[rows].to(device), old_logp[rows]
            ref_logp = None
            if ref is not None:
                with ledger.phase("reference", uses=["reference"]), torch.no_grad():
                    ref_logp = ref.log_probs(f_keep, ids, m)
            # -- update: num_iterations passes over the kept completions ----------------------------
            with ledger.phase("train", uses=["policy", "optimizer"]):
                policy.train()
                for _ in range(g.num_iterations):
                    logp = policy.log_probs(f_keep, ids, m)
                    loss, stats = grpo_loss(logp, o, a, m, g, ref_logp)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(params, 1.0)
                    opt.step()
            metrics.update({"loss/policy": float(loss.detach()), "kl": stats.kl, "clip_ratio": stats.clip_ratio})
        step += 1
        metrics.update(ledger.step_metrics(since=mark))
        _log(run, metrics)
        bar.update(1)
        bar.set_postfix(reward=f"{metrics.get('reward/total', float('nan')):.3f}", wer=f"{metrics['eval/train_wer']:.3f}")
        last = step == cfg.max_steps or time.time() >= deadline
        if step % cfg.eval_every == 0 or last:
            with ledger.phase("eval", uses=["encoder", "policy"]):
                _log(run, {"step": step, **evaluate_policy(policy.eval(), eval_items)})
        if step % cfg.checkpoint_every == 0 or last:
            _save_checkpoint(run, policy, opt, step, rng)
    bar.close()
    policy.save_pretrained(run / "final")
    return run


def frozen_reference(policy):
    """A frozen copy of the policy that shares its encoder (only the decoder side is copied)."""
    enc = policy.encoder
    memo = {id(enc): enc, **{id(t): t for t in list(enc.parameters()) + list(enc.buffers())}}
    ref = copy.deepcopy(policy, memo)
    ref.decoder_modules().requires_grad_(False)
    return ref.eval()
