"""GRPO math as small pure functions (Shao et al. 2024, arXiv 2402.03300), with TRL's names.

Rows are utterance-major: the G completions of utterance b sit at rows b*G .. b*G+G-1.
Every function returns detached statistics beside its result so the trainer can log them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch

SCALE_REWARDS = ("group", "batch", "none")
LOSS_TYPES = ("grpo", "dapo", "dr_grpo")


@dataclass
class GRPOConfig:
    """GRPO settings; names follow TRL's GRPOConfig so runs can be compared."""

    num_generations: int = 8                  # G, completions sampled per utterance
    temperature: float = 1.0                  # sampling temperature of the rollout
    top_p: float = 1.0                        # nucleus sampling mass
    max_completion_length: int = 96           # tokens per completion
    beta: float = 0.04                        # KL weight to the frozen reference; 0 loads no reference
    epsilon: float = 0.2                      # lower clip: ratio >= 1 - epsilon
    epsilon_high: float | None = None         # upper clip (DAPO clip-higher); None = epsilon
    num_iterations: int = 1                   # policy updates per batch, with stored old log-probs
    scale_rewards: str = "group"              # divide advantages by the group std, the batch std, or not
    loss_type: str = "dapo"                   # grpo: mean per sequence; dapo: mean per token; dr_grpo: sum / (N x max length)
    mask_truncated_completions: bool = False  # completions without EOS get no gradient
    learning_rate: float = 1e-5
    per_device_train_batch_size: int = 2      # utterances per step (x G completions)
    gradient_accumulation_steps: int = 1
    seed: int = 0

    def __post_init__(self):
        problems = []
        if self.num_generations < 2:
            problems.append("num_generations must be >= 2: GRPO compares completions within a group")
        if not self.temperature > 0:
            problems.append("temperature must be > 0 for sampling (greedy groups have no variance)")
        if not 0 < self.top_p <= 1:
            problems.append("top_p must be in (0, 1]")
        if self.max_completion_length < 1:
            problems.append("max_completion_length must be >= 1")
        if not self.beta >= 0:
            problems.append("beta must be >= 0 (0 turns the KL term and the reference model off)")
        if not 0 < self.epsilon < 1:
            problems.append("epsilon must be in (0, 1)")
        if self.epsilon_high is not None and not self.epsilon_high > 0:
            problems.append("epsilon_high must be > 0 (or None to use epsilon)")
        if self.num_iterations < 1 or self.gradient_accumulation_steps < 1 or self.per_device_train_batch_size < 1:
            problems.append("num_iterations, gradient_accumulation_steps and per_device_train_batch_size must be >= 1")
        if self.scale_rewards not in SCALE_REWARDS:
            problems.append(f"scale_rewards {self.scale_rewards!r}: use one of {', '.join(SCALE_REWARDS)}")
        if self.loss_type not in LOSS_TYPES:
            problems.append(f"loss_type {self.loss_type!r}: use one of {', '.join(LOSS_TYPES)}")
        if not self.learning_rate > 0:
            problems.append("learning_rate must be > 0")
        if problems:
            raise ValueError("invalid GRPO settings:\n  " + "\n  ".join(problems))
        if self.epsilon_high is None:
            self.epsilon_high = self.epsilon


class Advantages(NamedTuple):
    advantages: torch.Tensor   # [B*G]
    group_std: torch.Tensor    # [B], std of each group's rewards
    group_mean: torch.Tensor   # [B]


def group_advantages(rewards: torch.Tensor, num_generations: int, scale_rewards: str = "group",
                     eps: float = 1e-4) -> Advantages:
    """A_i = (r_i - mean of its group) / scale.

    Args:
        rewards: [B*G] combined reward per completion.
        scale_rewards: "group" (that group's std), "batch" (std over all B*G), "none".
    Returns:
        Advantages with [B*G] advantages and [B] group std and mean (std unbiased, as torch.std).
    """
    grouped = rewards.view(-1, num_generations)                                  # [B, G]
    mean, std = grouped.mean(dim=1), grouped.std(dim=1)                          # [B], [B]
    centred = rewards - mean.repeat_interleave(num_generations)                  # [B*G]
    if scale_rewards == "group":
        centred = centred / (std.repeat_interleave(num_generations) + eps)
    elif scale_rewards == "batch":
        centred = centred / (rewards.std() + eps)
    elif scale_rewards != "none":
        raise ValueError(f"scale_rewards {scale_rewards!r}: use one of {', '.join(SCALE_REWARDS)}")
    return Advantages(centred, std, mean)


def nonzero_std_groups(raw_metric: torch.Tensor, num_generations: int, tol: float = 1e-6) -> torch.Tensor:
    """[B] True for groups whose *raw* metric varies (DAPO dynamic sampling, arXiv 2503.14476).

    Filtering on the raw metric (e.g. WER), not on the combined reward, keeps groups whose
    completions differ in what is measured even when a penalty term makes the totals tie."""
    grouped = raw_metric.view(-1, num_generations)                               # [B, G]
    return (grouped.max(dim=1).values - grouped.min(dim=1).values) > tol


def kl_k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token KL(pi || ref) estimate k3 = exp(r) - r - 1 with r = ref - logp (Schulman 2020):
    unbiased, always >= 0. Shapes [N, L] -> [N, L]."""
    r = ref_logp - logp
    return torch.exp(r) - r - 1.0


class LossStats(NamedTuple):
    clip_ratio: float          # share of completion tokens whose update was clipped
    kl: float                  # mean per-token k3 KL (0 when beta = 0)
    ratio: float               # mean importance ratio pi / pi_old


def aggregate(per_token: torch.Tensor, mask: torch.Tensor, loss_type: str, max_len: int) -> torch.Tensor:
    """Reduce [N, L] per-token losses to a scalar.

    grpo: mean over tokens of each sequence, then over sequences (longer answers weigh less per token);
    dapo: mean over all tokens of the batch (token-level);
    dr_grpo: sum / (N x max_completion_length) (no length normalisation, Liu et al. 2025)."""
    mask = mask.to(per_token.dtype)
    if loss_type == "grpo":
        return ((per_token * mask).sum(1) / mask.sum(1).clamp(min=1)).mean()
    if loss_type == "dapo":
        return (per_token * mask).sum() / mask.sum().clamp(min=1)
    if loss_type == "dr_grpo":
        return (per_token * mask).sum() / (per_token.shape[0] * max_len)
    raise ValueError(f"loss_type {loss_type!r}: use one of {', '.join(LOSS_TYPES)}")


def grpo_loss(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor,
              cfg: GRPOConfig, ref_logp: torch.Tensor | None = None) -> tuple[torch.Tensor, LossStats]:
    """Clipped surrogate with an optional KL penalty.

    Args:
        logp: [N, L] log-probs of the completion tokens under the policy (with grad).
        old_logp: [N, L] the same under the policy that sampled them (no grad).
        advantages: [N] one advantage per completion.
        mask: [N, L] bool, real completion tokens.
        ref_logp: [N, L] under the frozen reference; required when cfg.beta > 0.
    Returns:
        scalar loss and detached LossStats.
    """
    ratio = torch.exp(logp - old_logp)                                           # [N, L]
    clipped = ratio.clamp(1.0 - cfg.epsilon, 1.0 + cfg.epsilon_high)             # [N, L]
    adv = advantages[:, None]                                                    # [N, 1]
    per_token = -torch.minimum(ratio * adv, clipped * adv)                       # [N, L]
    kl = torch.zeros_like(per_token)
    if cfg.beta > 0:
        if ref_logp is None:
            raise ValueError("beta > 0 needs reference log-probs; pass ref_logp or set beta=0")
        kl = kl_k3(logp, ref_logp)
        per_token = per_token + cfg.beta * kl
    loss = aggregate(per_token, mask, cfg.loss_type, cfg.max_completion_length)
    with torch.no_grad():
        m = mask.bool()
        was_clipped = ((ratio < 1 - cfg.epsilon) & (adv < 0)) | ((ratio > 1 + cfg.epsilon_high) & (adv > 0))
        n = m.sum().clamp(min=1)
        stats = LossStats(float((was_clipped & m).sum() / n), float((kl * m).sum() / n), float((ratio * m).sum() / n))
    return loss, stats
