"""A short GRPO run on the tiny policy: parameters change, metrics are logged per step with
namespaced keys, a checkpoint is written and a second call resumes from it."""
from __future__ import annotations

import json

import pytest
import torch

from speechrl.models.load import load_asr
from speechrl.rl.grpo import GRPOConfig
from speechrl.rl.trainer import RunConfig, train

pytestmark = pytest.mark.slow


def _cfg(small_corpus, run_dir, steps, beta=0.04):
    return RunConfig(model="tiny", corpus=str(small_corpus), eval_items=2, max_steps=steps, eval_every=2,
                     checkpoint_every=1, run_dir=str(run_dir),
                     rewards=[["wer", 1.0, {}], ["length_ratio", 0.2, {}]],
                     grpo=GRPOConfig(num_generations=3, max_completion_length=12, beta=beta,
                                     learning_rate=1e-3, per_device_train_batch_size=2))


def test_two_steps_change_parameters_and_resume(small_corpus, tmp_path):
    run = train(_cfg(small_corpus, tmp_path / "run", 2), quiet=True)
    before = load_asr("tiny").decoder_modules().state_dict()
    after = load_asr(str(run / "final")).decoder_modules().state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in rows if "reward/total" in r]
    assert [r["step"] for r in steps] == [1, 2]
    for key in ("reward/wer", "reward/length_ratio", "reward/std", "frac_zero_std", "completion_len",
                "phase/encode_s", "phase/rollout_s", "phase/reward_s", "phase/encode_bytes"):
        assert key in steps[0], key
    assert any("loss/policy" in r and "kl" in r for r in steps)
    assert [r["step"] for r in rows if "eval/wer" in r] == [0, 2]
    assert json.loads((run / "config.json").read_text())["grpo"]["num_generations"] == 3

    train(_cfg(small_corpus, tmp_path / "run", 3), quiet=True)          # resumes at step 2
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "reward/total" in r] == [1, 2, 3]


def test_bad_config_is_rejected_before_running(small_corpus, tmp_path):
    with pytest.raises(ValueError, match="unknown reward"):
        RunConfig(rewards=[["bleu", 1.0, {}]])
    with pytest.raises(ValueError, match="unknown run settings"):
        RunConfig.from_json({"modle": "tiny"})
    with pytest.raises(ValueError, match="num_generations"):
        RunConfig.from_json({"grpo": {"num_generations": 1}})
