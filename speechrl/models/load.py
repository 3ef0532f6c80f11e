"""One entry point for ASR policies: a name of a packaged/shipped model, or a local folder.

    load_asr("whisper-tiny.en")    Whisper tiny.en converted from its package (cached)
    load_asr("llm-asr")            the shipped LLM-ASR default (speechrl/checkpoints/llm-asr)
    load_asr("llm-asr-smollm2")    Whisper encoder + new projector + SmolLM2-135M from its package
    load_asr("tiny")               a random tiny LLM-ASR for tests
    load_asr("/path/to/folder")    a folder from save_pretrained, a Whisper folder, or any causal LM folder
"""
from __future__ import annotations

import json
from pathlib import Path

from .asr import CONFIG_NAME, ASRPolicy, CheckpointError, WhisperPolicy

SHIPPED = Path(__file__).resolve().parent.parent / "checkpoints"
NAMES = ("whisper-tiny.en", "llm-asr", "llm-asr-smollm2", "tiny")


def load_asr(name_or_path: str, device: str | None = None) -> ASRPolicy:
    """Load a policy by name or folder; errors say what the folder holds and what to give instead."""
    from .llm_asr import LLMASRPolicy, tiny_llm_asr

    if name_or_path == "whisper-tiny.en":
        from .convert import whisper_tiny_en

        policy = WhisperPolicy.from_pretrained(whisper_tiny_en())
    elif name_or_path == "llm-asr":
        path = SHIPPED / "llm-asr"
        if not (path / CONFIG_NAME).is_file():
            raise CheckpointError(f"the shipped LLM-ASR default is missing from {path}; "
                                  "train it with `python -m speechrl pretrain asr`")
        policy = LLMASRPolicy.from_pretrained(path)
    elif name_or_path == "llm-asr-smollm2":
        from .convert import smollm2

        policy = LLMASRPolicy.from_lm(smollm2())
    elif name_or_path == "tiny":
        policy = tiny_llm_asr()
    else:
        policy = _from_folder(Path(name_or_path))
    return policy.to(device) if device else policy


def _from_folder(path: Path) -> ASRPolicy:
    from .llm_asr import LLMASRPolicy

    if not path.is_dir():
        raise CheckpointError(f"checkpoint folder not found: {path}. Give a folder written by save_pretrained, "
                              f"a Hugging Face Whisper or causal-LM folder, or one of: {', '.join(NAMES)}")
    if (path / CONFIG_NAME).is_file():
        kind = json.loads((path / CONFIG_NAME).read_text()).get("kind")
        if kind == "llm-asr":
            return LLMASRPolicy.from_pretrained(path)
        if kind == "whisper":
            return WhisperPolicy.from_pretrained(path)
        raise CheckpointError(f"{path}: unknown policy kind {kind!r} in {CONFIG_NAME}")
    config = path / "config.json"
    if not config.is_file():
        raise CheckpointError(f"{path} has no config.json: it is not a Hugging Face model folder "
                              "(expected the output of save_pretrained)")
    cfg = json.loads(config.read_text())
    arch = " ".join(cfg.get("architectures") or [])
    if cfg.get("model_type") == "whisper":
        return WhisperPolicy.from_pretrained(path)
    if "ForCausalLM" in arch:
        return LLMASRPolicy.from_lm(path)
    raise CheckpointError(f"{path} holds a {cfg.get('model_type', 'unknown')} model ({arch or 'no architecture'}); "
                          "ASR policies need a Whisper model or a causal LM")
