"""Rewards for RL on speech models: batch functions, a registry, and their weighted combination."""
from .core import (REGISTRY, CombinedReward, Param, RewardFn, RewardResult, RewardSpec, RewardTerm,
                   compose, make_reward, register)
from .asr import (cer_reward, exact_match_reward, get_hallucination_reward, get_length_ratio_reward,
                  get_neg_errors_reward, keyword_reward, wer_reward)

__all__ = [
    "REGISTRY", "CombinedReward", "Param", "RewardFn", "RewardResult", "RewardSpec", "RewardTerm",
    "compose", "make_reward", "register",
    "cer_reward", "exact_match_reward", "get_hallucination_reward", "get_length_ratio_reward",
    "get_neg_errors_reward", "keyword_reward", "wer_reward",
]
