"""Autoregressive sampling with a KV cache, shared by every policy (ASR now, TTS later).

A policy supplies `step(tokens [N, 1], cache) -> (logits [N, V], cache)` and the first logits;
this loop samples with temperature / top-p, stops rows at EOS, and returns right-padded ids
with a mask that covers each row up to and including its EOS.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


@dataclass(frozen=True)
class Sampled:
    """Completions of one sampling call."""

    ids: torch.Tensor        # [N, L] long, right-padded with `pad_id`
    mask: torch.Tensor       # [N, L] bool, True on real tokens (EOS included)
    truncated: torch.Tensor  # [N] bool, True where no EOS came within max_new_tokens


def sample_token(logits: torch.Tensor, temperature: float, top_p: float,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """One token per row. temperature 0 is greedy; top_p < 1 keeps the smallest set of tokens
    whose probability reaches top_p (nucleus sampling, Holtzman et al. 2019, arXiv 1904.09751).

    Args:
        logits: [N, V] unnormalised scores.
    Returns:
        [N] long token ids.
    """
    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)                # [N, V]
    if top_p < 1.0:
        sorted_p, order = probs.sort(dim=-1, descending=True)                  # [N, V]
        drop = sorted_p.cumsum(dim=-1) - sorted_p > top_p                      # mass before this token already >= top_p
        sorted_p = sorted_p.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)       # [N]


def sample_loop(first_logits: torch.Tensor, cache, step: Callable, eos_id: int, pad_id: int,
                max_new_tokens: int, temperature: float = 1.0, top_p: float = 1.0,
                suppress: list[int] | None = None, begin_suppress: list[int] | None = None,
                generator: torch.Generator | None = None) -> Sampled:
    """Sample until every row has emitted EOS or `max_new_tokens` tokens."""
    n = first_logits.shape[0]
    done = torch.zeros(n, dtype=torch.bool, device=first_logits.device)
    tokens, logits = [], first_logits
    for t in range(max_new_tokens):
        logits = logits.clone()
        if suppress:
            logits[:, suppress] = float("-inf")
        if t == 0 and begin_suppress:
            logits[:, begin_suppress] = float("-inf")
        tok = sample_token(logits, temperature, top_p, generator)              # [N]
        tok = torch.where(done, torch.full_like(tok, pad_id), tok)
        tokens.append(tok)
        done = done | (tok == eos_id)
        if bool(done.all()) or t == max_new_tokens - 1:
            break
        logits, cache = step(tok[:, None], cache)                              # [N, V]
    ids = torch.stack(tokens, dim=1)                                           # [N, L]
    is_eos = ids == eos_id
    # real tokens: positions up to and including the first EOS
    before_eos = is_eos.long().cumsum(dim=1) - is_eos.long() == 0             # [N, L]
    return Sampled(ids=ids, mask=before_eos, truncated=~is_eos.any(dim=1))
