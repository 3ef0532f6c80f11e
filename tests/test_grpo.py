"""GRPO math on tiny hand-made tensors; the arithmetic is in the comments."""
from __future__ import annotations

import math

import pytest
import torch

from speechrl.rl.grpo import GRPOConfig, aggregate, group_advantages, grpo_loss, kl_k3, nonzero_std_groups


def test_group_advantages_group_scaling():
    # group 1: rewards 1, 0 -> mean 0.5, std (unbiased) = sqrt(((.5)^2 + (.5)^2) / 1) = 0.7071
    #          advantages +-0.5 / 0.7071 = +-0.7071
    # group 2: rewards 2, 2 -> mean 2, std 0 -> advantages 0 / (0 + eps) = 0
    a = group_advantages(torch.tensor([1.0, 0.0, 2.0, 2.0]), 2, "group", eps=0.0 + 1e-12)
    torch.testing.assert_close(a.advantages, torch.tensor([0.7071068, -0.7071068, 0.0, 0.0]))
    torch.testing.assert_close(a.group_std, torch.tensor([0.7071068, 0.0]))
    torch.testing.assert_close(a.group_mean, torch.tensor([0.5, 2.0]))


def test_group_advantages_batch_and_none():
    r = torch.tensor([1.0, 0.0, 3.0, 1.0])            # means 0.5 and 2 -> centred +-0.5, +-1
    none = group_advantages(r, 2, "none").advantages
    torch.testing.assert_close(none, torch.tensor([0.5, -0.5, 1.0, -1.0]))
    # batch std of [1, 0, 3, 1] (unbiased): mean 1.25, squares .0625+1.5625+3.0625+.0625 = 4.75, /3 -> 1.5833, sqrt 1.2583
    batch = group_advantages(r, 2, "batch", eps=0.0).advantages
    torch.testing.assert_close(batch, torch.tensor([0.5, -0.5, 1.0, -1.0]) / math.sqrt(4.75 / 3))


def test_nonzero_std_groups_uses_raw_metric():
    wer = torch.tensor([0.1, 0.1, 0.0, 0.5, 0.3, 0.3])   # groups of 3: [.1 .1 0] varies, [.5 .3 .3] varies
    assert nonzero_std_groups(wer, 3).tolist() == [True, True]
    assert nonzero_std_groups(torch.tensor([0.2, 0.2, 0.4, 0.4]), 2).tolist() == [False, False]


def test_kl_k3():
    # r = ref - logp; k3 = e^r - r - 1: r = 0 -> 0; r = ln 2 -> 2 - 0.6931 - 1 = 0.3069; r = -ln 2 -> 0.5 + 0.6931 - 1 = 0.1931
    logp = torch.tensor([[0.0, 0.0, 0.0]])
    ref = torch.tensor([[0.0, math.log(2), -math.log(2)]])
    torch.testing.assert_close(kl_k3(logp, ref), torch.tensor([[0.0, 0.3068528, 0.1931472]]))


def test_aggregate_loss_types():
    per_token = torch.tensor([[1.0, 1.0, 1.0, 1.0], [4.0, 0.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 0, 0, 0]], dtype=torch.bool)
    # grpo: per sequence means 1 and 4 -> 2.5; dapo: (4 + 4) / 5 tokens = 1.6; dr_grpo: 8 / (2 x 4) = 1.0
    assert aggregate(per_token, mask, "grpo", 4).item() == pytest.approx(2.5)
    assert aggregate(per_token, mask, "dapo", 4).item() == pytest.approx(1.6)
    assert aggregate(per_token, mask, "dr_grpo", 4).item() == pytest.approx(1.0)


def test_grpo_loss_clipping_and_stats():
    cfg = GRPOConfig(num_generations=2, epsilon=0.2, beta=0.0, loss_type="dapo", max_completion_length=2)
    old = torch.zeros(2, 2)
    # row 0: ratio e^0.5 = 1.6487 on both tokens, advantage +1 -> clipped at 1.2: loss -1.2 per token
    # row 1: ratio 1 on both tokens, advantage -1 -> loss +1 per token
    logp = torch.tensor([[0.5, 0.5], [0.0, 0.0]], requires_grad=True)
    loss, stats = grpo_loss(logp, old, torch.tensor([1.0, -1.0]), torch.ones(2, 2, dtype=torch.bool), cfg)
    assert loss.item() == pytest.approx((-1.2 * 2 + 1.0 * 2) / 4)     # dapo: token mean = -0.1
    assert stats.clip_ratio == pytest.approx(0.5)                      # 2 of 4 tokens clipped
    loss.backward()
    assert logp.grad[0].abs().sum() == 0                               # clipped tokens give no gradient
    torch.testing.assert_close(logp.grad[1], torch.tensor([0.25, 0.25]))  # d(-r*A)/dlogp = -A*r/4 = 0.25


def test_grpo_loss_with_kl():
    cfg = GRPOConfig(num_generations=2, beta=0.5, loss_type="grpo", max_completion_length=1)
    logp = torch.zeros(2, 1)
    ref = torch.tensor([[math.log(2)], [0.0]])
    # surrogate 0 (advantages 0); KL 0.3069 and 0 -> per-token 0.5 x KL; grpo mean -> (0.1534 + 0) / 2
    loss, stats = grpo_loss(logp, logp, torch.zeros(2), torch.ones(2, 1, dtype=torch.bool), cfg, ref)
    assert loss.item() == pytest.approx(0.5 * 0.3068528 / 2, rel=1e-5)
    assert stats.kl == pytest.approx(0.3068528 / 2, rel=1e-5)
    with pytest.raises(ValueError, match="needs reference log-probs"):
        grpo_loss(logp, logp, torch.zeros(2), torch.ones(2, 1, dtype=torch.bool), cfg)


@pytest.mark.parametrize("kwargs,words", [
    ({"num_generations": 1}, "num_generations must be >= 2"),
    ({"temperature": 0.0}, "temperature must be > 0"),
    ({"beta": float("nan")}, "beta must be >= 0"),
    ({"scale_rewards": "std"}, "scale_rewards 'std'"),
    ({"loss_type": "bnpo"}, "loss_type 'bnpo'"),
    ({"epsilon": 1.5}, "epsilon must be in"),
])
def test_config_errors(kwargs, words):
    with pytest.raises(ValueError, match=words):
        GRPOConfig(**kwargs)


def test_config_defaults():
    cfg = GRPOConfig(epsilon=0.1)
    assert cfg.epsilon_high == 0.1
