"""LLM-based ASR (the paper's architecture): Whisper encoder -> projector -> causal LM.

The audio becomes a prefix of LM input embeddings: encoder frames (50 Hz) are stacked k at a
time and mapped by a two-layer MLP to the LM's width; a prompt (BOS and optional text) follows;
the LM writes the transcript. The LM is any local Hugging Face causal LM; the shipped default is
a small LM trained here from scratch with a character tokenizer.

Checkpoint folder: `speechrl_asr.json` (kind, encoder source, stack, prompt, window),
`projector.safetensors`, `lm/` (LM + tokenizer, save_pretrained), and `encoder/` only when the
encoder is not the packaged Whisper tiny.en (which is referenced, not copied).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import nn

from ..audio import HOP_LENGTH, SAMPLE_RATE, log_mel
from .asr import CONFIG_NAME, ASRPolicy, Features, Generation, check_audio, whisper_encode
from .sampling import sample_loop

PACKAGED_ENCODER = "whisper-tiny.en"
PAD_TO_S = 1.0               # batches are padded to a whole number of seconds (fewer shapes)


class Projector(nn.Module):
    """Stack k encoder frames and map them to the LM width: [B, T, D] -> [B, ceil(T/k), d_lm]."""

    def __init__(self, d_in: int, d_lm: int, stack: int = 4, d_hidden: int | None = None):
        super().__init__()
        self.stack, self.d_in, self.d_lm = stack, d_in, d_lm
        d_hidden = d_hidden or 2 * d_lm
        self.net = nn.Sequential(nn.Linear(d_in * stack, d_hidden), nn.GELU(), nn.Linear(d_hidden, d_lm))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t, d = x.shape
        pad = (-t) % self.stack
        x = nn.functional.pad(x, (0, 0, 0, pad))                                   # [B, T', D]
        m = nn.functional.pad(mask, (0, pad)).view(b, -1, self.stack).any(-1)      # [B, T'/k]
        return self.net(x.reshape(b, -1, d * self.stack)), m                       # [B, T'/k, d_lm]

    def config(self) -> dict:
        return {"d_in": self.d_in, "d_lm": self.d_lm, "stack": self.stack, "d_hidden": self.net[0].out_features}


class LLMASRPolicy(ASRPolicy):
    """Audio prefix -> causal LM transcript. Encoder frozen; projector and LM trainable."""

    kind = "llm-asr"

    def __init__(self, encoder, projector: Projector, lm, tokenizer, prompt: str = "",
                 window_s: float = 30.0, encoder_source: str = PACKAGED_ENCODER, chunk_s: float = 6.0):
        super().__init__()
        self.chunk_s = chunk_s   # long audio is cut at pauses into pieces this long (the LM saw short utterances)
        self.encoder, self.projector, self.lm, self.tokenizer = encoder, projector, lm, tokenizer
        self.prompt, self.window_s, self.encoder_source = prompt, window_s, encoder_source
        self.eos_id = tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_id
        bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
        self.prompt_ids = bos + tokenizer(prompt, add_special_tokens=False).input_ids if prompt else bos
        if not self.prompt_ids:
            raise ValueError("the LM's tokenizer has no BOS token; give a prompt text to separate audio from text")
        self.freeze_encoder(True)

    def set_lm_mode(self, mode: str = "full", lora_r: int = 8, lora_alpha: int = 16) -> "LLMASRPolicy":
        """Which LM weights train: "full" (all), "lora" (peft adapters on every linear layer, the
        base frozen) or "frozen" (none: only the projector learns)."""
        if mode not in ("full", "lora", "frozen"):
            raise ValueError(f"lm mode {mode!r}: use full, lora or frozen")
        if mode == "lora":
            from peft import LoraConfig, get_peft_model

            self.lm = get_peft_model(self.lm, LoraConfig(r=lora_r, lora_alpha=lora_alpha, lora_dropout=0.0,
                                                         target_modules="all-linear"))
        else:
            for p in self.lm.parameters():
                p.requires_grad_(mode == "full")
        return self

    def decoder_modules(self) -> nn.ModuleList:
        """Everything but the encoder: what the rollout and the update use."""
        return nn.ModuleList([self.projector, self.lm])

    def _plain_lm(self):
        """The LM with any LoRA adapters merged in (a copy; the live model keeps its adapters)."""
        if hasattr(self.lm, "merge_and_unload"):
            import copy

            return copy.deepcopy(self.lm).merge_and_unload()
        return self.lm

    # -- audio -> features (encoder only; frozen) ---------------------------------------------------
    def encode(self, audio) -> Features:
        xs = check_audio(audio, self.window_s)
        longest = max(len(x) for x in xs)
        n = int(min(self.window_s, math.ceil(longest / SAMPLE_RATE / PAD_TO_S) * PAD_TO_S) * SAMPLE_RATE)
        mel = torch.stack([log_mel(x, pad_to=n) for x in xs]).to(self.device)      # [B, 80, F]
        with torch.set_grad_enabled(not self.encoder_frozen):
            hidden = whisper_encode(self.encoder, mel)                              # [B, F/2, D]
        frames = torch.tensor([math.ceil(len(x) / (2 * HOP_LENGTH)) for x in xs], device=hidden.device)
        mask = torch.arange(hidden.shape[1], device=hidden.device)[None] < frames[:, None]
        return Features(hidden, mask)

    # -- features -> LM prefix ---------------------------------------------------------------------
    def prefix(self, features: Features, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Input embeddings and mask of [audio | prompt] for n rows: [N, P, d_lm], [N, P]."""
        f = features.rows(n)
        audio, amask = left_align(*self.projector(f.hidden, f.mask))               # [N, Ta, d], [N, Ta]
        prompt = torch.tensor(self.prompt_ids, device=audio.device)
        pemb = self.lm.get_input_embeddings()(prompt)[None].expand(n, -1, -1)      # [N, Tp, d]
        emb = torch.cat([audio.to(pemb.dtype), pemb], dim=1)
        mask = torch.cat([amask, torch.ones(n, len(self.prompt_ids), dtype=torch.bool, device=amask.device)], 1)
        return emb, mask

    def generate(self, features: Features, num_return_sequences: int = 1, temperature: float = 1.0,
                 top_p: float = 1.0, max_new_tokens: int | None = None,
                 generator: torch.Generator | None = None) -> Generation:
        n = features.hidden.shape[0] * num_return_sequences
        max_new = max_new_tokens or self.default_max_tokens(features)
        with torch.no_grad():
            emb, mask = self.prefix(features, n)
            out = self.lm(inputs_embeds=emb, attention_mask=mask.long(), use_cache=True, logits_to_keep=1)
            state = {"mask": mask.long()}

            def step(tok, cache):
                state["mask"] = torch.cat([state["mask"], torch.ones_like(tok)], dim=1)
                o = self.lm(input_ids=tok, attention_mask=state["mask"], cache=cache, use_cache=True, logits_to_keep=1)
                return o.logits[:, -1], o.cache

            s = sample_loop(out.logits[:, -1], out.cache, step, self.eos_id, self.pad_id, max_new,
                            temperature, top_p, generator=generator)
        return Generation(s.ids, s.mask, s.truncated, self.decode(s.ids, s.mask))

    def default_max_tokens(self, features: Features) -> int:
        """Room for fast speech: ~25 characters (or tokens) a second, at least 32."""
        seconds = int(features.mask.sum(1).max()) / 50
        return max(32, int(seconds * 25) + 16)

    def log_probs(self, features: Features, completion_ids: torch.Tensor,
                  completion_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced log p(completion | audio, prompt): [N, L], LM logits at completion positions only."""
        n, length = completion_ids.shape
        emb, mask = self.prefix(features, n)                                        # [N, P, d]
        tok = self.lm.get_input_embeddings()(completion_ids[:, :-1])                # [N, L-1, d]
        inputs = torch.cat([emb, tok], dim=1)                                       # [N, P+L-1, d]
        full_mask = torch.cat([mask, torch.ones_like(completion_ids[:, :-1], dtype=torch.bool)], 1)
        logits = self.lm(inputs_embeds=inputs, attention_mask=full_mask.long(), use_cache=False,
                         logits_to_keep=length).logits                              # [N, L, V]
        return self._gather(logits, completion_ids, completion_mask)

    # -- saving and loading ------------------------------------------------------------------------
    def save_pretrained(self, path, dtype: torch.dtype | None = None) -> Path:
        """Write the checkpoint; dtype=torch.float16 halves its size (weights load back as float32)."""
        from safetensors.torch import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        cast = (lambda t: t.to(dtype)) if dtype else (lambda t: t)
        save_file({k: cast(v.detach().cpu().contiguous()) for k, v in self.projector.state_dict().items()},
                  str(path / "projector.safetensors"))
        lm = self._plain_lm()
        saved = [lm] + ([self.encoder] if self.encoder_source != PACKAGED_ENCODER else [])
        if dtype is not None:
            for m in saved:
                m.to(dtype)
        try:
            lm.save_pretrained(path / "lm")
            if self.encoder_source != PACKAGED_ENCODER:
                self.encoder.save_pretrained(path / "encoder")
        finally:
            for m in saved:
                m.float()
        self.tokenizer.save_pretrained(path / "lm")
        cfg = {"kind": self.kind, "encoder": self.encoder_source if self.encoder_source == PACKAGED_ENCODER else "encoder",
               "projector": self.projector.config(), "prompt": self.prompt, "window_s": self.window_s,
               "chunk_s": self.chunk_s}
        (path / CONFIG_NAME).write_text(json.dumps(cfg, indent=2))
        return path

    @classmethod
    def from_pretrained(cls, path) -> "LLMASRPolicy":
        from safetensors.torch import load_file
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = Path(path)
        cfg = json.loads((path / CONFIG_NAME).read_text())
        encoder = load_encoder(path / cfg["encoder"] if cfg["encoder"] != PACKAGED_ENCODER else PACKAGED_ENCODER)
        projector = Projector(**cfg["projector"])
        projector.load_state_dict({k: v.float() for k, v in load_file(str(path / "projector.safetensors")).items()})
        lm = AutoModelForCausalLM.from_pretrained(path / "lm", dtype=torch.float32)
        tok = AutoTokenizer.from_pretrained(path / "lm")
        return cls(encoder, projector, lm.eval(), tok, cfg.get("prompt", ""), cfg.get("window_s", 30.0),
                   cfg["encoder"] if cfg["encoder"] == PACKAGED_ENCODER else str(path / "encoder"),
                   cfg.get("chunk_s", 6.0))

    @classmethod
    def from_lm(cls, lm_path, prompt: str = "Transcribe the speech:", stack: int = 4) -> "LLMASRPolicy":
        """Pair the packaged Whisper tiny.en encoder with any local causal LM (new projector)."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        lm = AutoModelForCausalLM.from_pretrained(lm_path, dtype=torch.float32)
        tok = AutoTokenizer.from_pretrained(lm_path)
        encoder = load_encoder(PACKAGED_ENCODER)
        projector = Projector(encoder.config.d_model, lm.get_input_embeddings().embedding_dim, stack)
        return cls(encoder, projector, lm.eval(), tok, prompt)


def left_align(x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Move each row's padding to the left: [pad | audio] instead of [audio | pad].

    The prompt and transcript then follow the last real audio token directly in every row, so
    with rotary positions the audio-to-text distances do not depend on how long the longest
    utterance of the batch is (the same trick as left padding for batched LM generation).

    Args:
        x: [N, T, d]; mask: [N, T] bool with each row's real frames first.
    Returns:
        the shifted x (zeros in the padding) and its mask, same shapes.
    """
    t = x.shape[1]
    shift = t - mask.sum(dim=1)                                                    # [N]
    src = torch.arange(t, device=x.device)[None] - shift[:, None]                 # [N, T]
    valid = src >= 0
    out = x.gather(1, src.clamp(min=0)[..., None].expand(-1, -1, x.shape[2]))
    return out * valid[..., None].to(out.dtype), valid


def load_encoder(source):
    """The packaged Whisper tiny.en encoder, or a saved WhisperEncoder folder."""
    from transformers import WhisperForConditionalGeneration
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    if source == PACKAGED_ENCODER:
        from .convert import whisper_tiny_en

        return WhisperForConditionalGeneration.from_pretrained(whisper_tiny_en()).model.encoder.eval()
    return WhisperEncoder.from_pretrained(source, dtype=torch.float32).eval()


def tiny_llm_asr(seed: int = 0, d: int = 64, layers: int = 2) -> LLMASRPolicy:
    """A randomly initialised LLM-ASR small enough for tests (about 0.3 M parameters)."""
    from transformers import LlamaConfig, LlamaForCausalLM, WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    from .tokenizer import char_tokenizer

    torch.manual_seed(seed)
    tok = char_tokenizer()
    enc = WhisperEncoder(WhisperConfig(d_model=d, encoder_layers=layers, encoder_attention_heads=2,
                                       encoder_ffn_dim=2 * d, num_mel_bins=80, max_source_positions=1500))
    lm = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=d, intermediate_size=2 * d,
                                      num_hidden_layers=layers, num_attention_heads=2, num_key_value_heads=2,
                                      max_position_embeddings=2048, tie_word_embeddings=True,
                                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                      pad_token_id=tok.pad_token_id))
    return LLMASRPolicy(enc.eval(), Projector(d, d, stack=4), lm.eval(), tok, window_s=30.0, encoder_source="random")

