"""Pretraining of the shipped LLM-ASR default: frozen Whisper tiny.en encoder -> projector ->
a small causal LM trained from scratch with a character tokenizer.

    python -m speechrl pretrain asr --minutes 60

The encoder is frozen, so its output is computed once per utterance and cached on disk
(fp16); training then touches only the projector and the LM, which 2 CPU cores can afford.
Training is resumable (atomic checkpoints of model, optimizer, RNG and step) and evaluates
greedy WER on a dev subset as it goes. The final weights are written in fp16 (a few MB).
"""
from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .audio import HOP_LENGTH, SAMPLE_RATE, load_audio, log_mel
from .data.corpus import load
from .data.manifest import Item
from .metrics import word_errors
from .models.asr import Features, whisper_encode
from .text import normalize


@dataclass
class PretrainConfig:
    """Settings of `python -m speechrl pretrain asr` (defaults give the shipped checkpoint)."""

    corpora: list[str] = field(default_factory=lambda: ["pretrain-asr", "default"])
    out: str = ""                    # final checkpoint folder (default: speechrl/checkpoints/llm-asr)
    work_dir: str = ""               # feature cache + resumable checkpoint (default: <data>/pretrain/llm-asr)
    minutes: float = 60.0            # wall-clock budget for training (feature caching not counted)
    max_steps: int = 100_000
    max_items_per_corpus: int = 0    # 0 = all train items of each corpus
    batch_size: int = 32
    learning_rate: float = 1e-3
    warmup_steps: int = 300
    weight_decay: float = 0.01
    d_model: int = 256
    layers: int = 4
    heads: int = 4
    ffn: int = 768
    stack: int = 4                   # encoder frames per audio token (50 Hz -> 12.5 Hz)
    time_mask: int = 2               # SpecAugment-style masks on encoder frames per utterance
    time_mask_frames: int = 8
    eval_every: int = 250
    eval_items: int = 200
    checkpoint_every: int = 250
    seed: int = 0

    def __post_init__(self):
        if self.batch_size < 1 or self.learning_rate <= 0 or self.minutes <= 0:
            raise ValueError("batch_size, learning_rate and minutes must be positive")


def build_policy(cfg: PretrainConfig, encoder):
    """Fresh projector + small Llama-style LM around the (frozen) Whisper encoder."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from .models.llm_asr import LLMASRPolicy, Projector
    from .models.tokenizer import char_tokenizer

    torch.manual_seed(cfg.seed)
    tok = char_tokenizer()
    lm = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tok), hidden_size=cfg.d_model, intermediate_size=cfg.ffn, num_hidden_layers=cfg.layers,
        num_attention_heads=cfg.heads, num_key_value_heads=cfg.heads, max_position_embeddings=2048,
        tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id))
    projector = Projector(encoder.config.d_model, cfg.d_model, stack=cfg.stack)
    return LLMASRPolicy(encoder, projector, lm, tok)


def cache_features(items: list[Item], encoder, path: Path, batch_size: int = 16) -> list[torch.Tensor]:
    """Encoder output per item ([T_i, D] fp16, real frames only), computed once and cached."""
    from tqdm.auto import tqdm

    if path.is_file():
        feats = torch.load(path)
        if len(feats) == len(items):
            return feats
    order = sorted(range(len(items)), key=lambda i: items[i].duration)   # similar lengths share a batch
    feats: list[torch.Tensor | None] = [None] * len(items)
    with torch.no_grad():
        for k in tqdm(range(0, len(order), batch_size), desc="encoding (cached once)", unit="batch"):
            idx = order[k:k + batch_size]
            xs = [load_audio(items[i].audio) for i in idx]
            n = int(math.ceil(max(len(x) for x in xs) / SAMPLE_RATE) * SAMPLE_RATE)
            hidden = whisper_encode(encoder, torch.stack([log_mel(x, pad_to=n) for x in xs]))   # [b, T, D]
            for i, x, h in zip(idx, xs, hidden):
                feats[i] = h[:math.ceil(len(x) / (2 * HOP_LENGTH))].half().clone()
    tmp = path.with_suffix(".tmp")
    torch.save(feats, tmp)
    os.replace(tmp, path)
    return feats


def targets(texts: list[str], tokenizer) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalized transcripts + EOS as right-padded ids [B, L] and mask [B, L]."""
    seqs = [tokenizer(normalize(t), add_special_tokens=False).input_ids + [tokenizer.eos_token_id] for t in texts]
    width = max(map(len, seqs))
    ids = torch.full((len(seqs), width), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.bool)
    for r, s in enumerate(seqs):
        ids[r, :len(s)], mask[r, :len(s)] = torch.tensor(s), True
    return ids, mask


def batch_features(feats: list[torch.Tensor], cfg: PretrainConfig | None = None, rng: random.Random | None = None) -> Features:
    """Pad cached features to [B, T, D] with a mask; optional time masking for training."""
    width = max(f.shape[0] for f in feats)
    hidden = torch.zeros(len(feats), width, feats[0].shape[1])
    mask = torch.zeros(len(feats), width, dtype=torch.bool)
    for r, f in enumerate(feats):
        hidden[r, :f.shape[0]], mask[r, :f.shape[0]] = f.float(), True
        if cfg is not None and rng is not None:
            for _ in range(cfg.time_mask):
                w = rng.randint(0, cfg.time_mask_frames)
                s = rng.randint(0, max(0, f.shape[0] - w))
                hidden[r, s:s + w] = 0.0
    return Features(hidden, mask)


def evaluate(policy, feats: list[torch.Tensor], items: list[Item], batch_size: int = 32) -> float:
    """Greedy corpus WER on cached features."""
    policy.eval()
    refs, hyps = [], []
    with torch.no_grad():
        for k in range(0, len(items), batch_size):
            f = batch_features(feats[k:k + batch_size])
            hyps += policy.generate(f, temperature=0.0).texts
            refs += [i.text for i in items[k:k + batch_size]]
    policy.train()
    return word_errors(refs, hyps).rate


def _lr(step: int, cfg: PretrainConfig, progress: float) -> float:
    """Linear warm-up over steps, then cosine decay to 5 % over the wall-clock budget (progress 0..1)."""
    if step < cfg.warmup_steps:
        return cfg.learning_rate * (step + 1) / cfg.warmup_steps
    progress = min(1.0, max(0.0, progress))
    return cfg.learning_rate * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def _save_state(path: Path, policy, opt, step: int, rng: random.Random, history: list) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"projector": policy.projector.state_dict(), "lm": policy.lm.state_dict(), "opt": opt.state_dict(),
                "step": step, "rng": rng.getstate(), "torch_rng": torch.get_rng_state(), "history": history}, tmp)
    os.replace(tmp, path)


def pretrain_asr(cfg: PretrainConfig) -> dict:
    """Train (or resume) and write the final fp16 checkpoint; returns a summary."""
    from tqdm.auto import tqdm

    from .models.llm_asr import PACKAGED_ENCODER, load_encoder
    from .models.load import SHIPPED
    from .paths import corpus_dir, data_dir

    out = Path(cfg.out or SHIPPED / "llm-asr")
    work = Path(cfg.work_dir or data_dir() / "pretrain" / "llm-asr")
    work.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    encoder = load_encoder(PACKAGED_ENCODER)
    train, train_f = [], []
    for c in cfg.corpora:   # features cached per corpus, so corpora can be added later
        part = load(corpus_dir(c), "train")[:cfg.max_items_per_corpus or None]
        train += part
        train_f += cache_features(part, encoder, work / f"{c}-train-{len(part)}.pt")
    if not train:
        raise RuntimeError(f"no train items in corpora {cfg.corpora}; build them with `python -m speechrl data build`")
    dev = load(corpus_dir(cfg.corpora[-1]), "dev")[:cfg.eval_items]
    dev_f = cache_features(dev, encoder, work / f"{cfg.corpora[-1]}-dev-{len(dev)}.pt")

    policy = build_policy(cfg, encoder).train()
    params = [p for p in policy.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay, betas=(0.9, 0.98))
    rng, step, history = random.Random(cfg.seed), 0, []
    state_path = work / "state.pt"
    if state_path.is_file():
        st = torch.load(state_path, weights_only=False)
        policy.projector.load_state_dict(st["projector"])
        policy.lm.load_state_dict(st["lm"])
        opt.load_state_dict(st["opt"])
        step, history = st["step"], st["history"]
        rng.setstate(st["rng"])
        torch.set_rng_state(st["torch_rng"])
        print(f"resumed at step {step}")
    # a length-sorted pool shuffled in chunks: batches of similar length, random order
    order = sorted(range(len(train)), key=lambda i: train_f[i].shape[0])
    batches = [order[k:k + cfg.batch_size] for k in range(0, len(order), cfg.batch_size)]
    t_start = time.time()
    t_end = t_start + cfg.minutes * 60
    bar = tqdm(initial=step, total=cfg.max_steps, desc="pretraining LLM-ASR", unit="step")
    wer = float("nan")
    while step < cfg.max_steps and time.time() < t_end:
        rng.shuffle(batches)
        for idx in batches:
            if step >= cfg.max_steps or time.time() >= t_end:
                break
            for g in opt.param_groups:
                g["lr"] = _lr(step, cfg, max((time.time() - t_start) / (t_end - t_start), step / cfg.max_steps))
            b_feats = batch_features([train_f[i] for i in idx], cfg, rng)
            b_ids, b_mask = targets([train[i].text for i in idx], policy.tokenizer)
            logp = policy.log_probs(b_feats, b_ids, b_mask)                            # [B, L]
            loss = -(logp * b_mask).sum() / b_mask.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", dev_wer=f"{wer:.3f}")
            if step % cfg.eval_every == 0:
                wer = evaluate(policy, dev_f, dev)
                history.append({"step": step, "loss": round(loss.item(), 4), "dev_wer": round(wer, 4),
                                "minutes": round((time.time() - t_start) / 60, 1)})
            if step % cfg.checkpoint_every == 0:
                _save_state(state_path, policy, opt, step, rng, history)
    bar.close()
    _save_state(state_path, policy, opt, step, rng, history)
    wer = evaluate(policy, dev_f, dev)
    policy.eval().save_pretrained(out, dtype=torch.float16)
    summary = {"steps": step, "dev_wer": round(wer, 4), "train_items": len(train), "history": history,
               "config": asdict(cfg), "parameters": sum(p.numel() for p in params)}
    (out / "pretrain_summary.json").write_text(json.dumps(summary, indent=2))
    return summary
