"""Pretraining of the LLM-ASR on a tiny scale: loss falls, the checkpoint loads as a policy,
and a second call resumes from the saved step instead of starting over."""
from __future__ import annotations

import json
import shutil

import pytest

from speechrl.models.load import load_asr
from speechrl.paths import corpus_dir
from speechrl.pretrain import PretrainConfig, pretrain_asr

pytestmark = pytest.mark.slow


def test_pretrain_small_then_resume(data_dir, small_corpus, whisper_dir, tmp_path):
    shutil.copytree(small_corpus, corpus_dir("default"))
    (data_dir / "models").mkdir()
    (data_dir / "models" / "whisper-tiny.en").symlink_to(whisper_dir)      # reuse the session's conversion
    cfg = dict(corpora=["default"], out=str(tmp_path / "ckpt"), minutes=5, max_steps=30, batch_size=8,
               learning_rate=3e-3, warmup_steps=5, d_model=32, layers=1, heads=2, ffn=64,
               eval_every=30, eval_items=4, checkpoint_every=10)
    first = pretrain_asr(PretrainConfig(**cfg))
    assert first["steps"] == 30
    summary = json.loads((tmp_path / "ckpt" / "pretrain_summary.json").read_text())
    assert summary["history"][-1]["loss"] < 3.5            # from log(49) = 3.89 at random init
    policy = load_asr(str(tmp_path / "ckpt"))
    assert policy.kind == "llm-asr" and len(policy.tokenizer) == 49
    again = pretrain_asr(PretrainConfig(**{**cfg, "max_steps": 35}))
    assert again["steps"] == 35                             # resumed at 30, five more steps
