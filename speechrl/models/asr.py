"""ASR policies for GRPO, one interface for every kind.

    features = policy.encode(audio)                       # once per utterance, reused below
    gen = policy.generate(features, num_return_sequences=G, temperature=1.0, top_p=1.0)
    logp = policy.log_probs(features, gen.ids, gen.mask)  # [B*G, L], logits at completion positions only

Kinds:
- `WhisperPolicy`: a Hugging Face Whisper (seq2seq); the default is tiny.en converted from its
  CTranslate2 package. Its encoder sees the full 30 s window it was trained on.
- `LLMASRPolicy`: the paper's architecture: Whisper encoder (frozen) -> projector (frame stacking
  + MLP) -> any decoder-only causal LM, with the audio as a prefix of input embeddings.

`Features` hold the frozen encoder output; the projector (trainable) runs inside generate and
log_probs, so "encode once" and "train the projector" go together.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..audio import HOP_LENGTH, MIN_SECONDS, SAMPLE_RATE, AudioError, log_mel
from .sampling import sample_loop

WHISPER_WINDOW_S = 30.0        # seconds of audio the Whisper encoder sees at once
ENCODER_HZ = 50                # encoder frames per second (two 10 ms mel frames per frame)
CONFIG_NAME = "speechrl_asr.json"


class CheckpointError(ValueError):
    """A model directory is missing or holds the wrong kind of model."""


@dataclass
class Features:
    """Encoder output for a batch of utterances."""

    hidden: torch.Tensor     # [B, T, D] float, frozen encoder states
    mask: torch.Tensor       # [B, T] bool, True on frames that hold audio

    def rows(self, n: int) -> "Features":
        """Repeat each utterance n // B times in place (b0, b0, ..., b1, b1, ...) to match n rows."""
        b = self.hidden.shape[0]
        if n == b:
            return self
        if n % b:
            raise ValueError(f"{n} completions for {b} utterances; give num_return_sequences per utterance")
        g = n // b
        return Features(self.hidden.repeat_interleave(g, 0), self.mask.repeat_interleave(g, 0))


@dataclass(frozen=True)
class Generation:
    """G completions per utterance, rows ordered utterance-major (u0 s0, u0 s1, ..., u1 s0, ...)."""

    ids: torch.Tensor        # [B*G, L] long, right-padded
    mask: torch.Tensor       # [B*G, L] bool, real tokens incl. EOS
    truncated: torch.Tensor  # [B*G] bool, no EOS within max_new_tokens
    texts: list[str]


def check_audio(audio, max_seconds: float) -> list[np.ndarray]:
    """Validate a batch of 16 kHz waveforms for one encoder window; clear errors per item."""
    if isinstance(audio, np.ndarray) and audio.ndim == 1:
        audio = [audio]
    out = []
    for i, x in enumerate(audio):
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 1:
            raise AudioError(f"audio {i}: expected mono samples [T], got shape {x.shape}")
        if x.size < MIN_SECONDS * SAMPLE_RATE:
            raise AudioError(f"audio {i}: {x.size / SAMPLE_RATE * 1000:.0f} ms is empty or too short; "
                             f"give at least {MIN_SECONDS * 1000:.0f} ms of speech")
        if not np.isfinite(x).all():
            raise AudioError(f"audio {i}: contains NaN or Inf samples")
        if x.size > max_seconds * SAMPLE_RATE + 1:
            raise AudioError(f"audio {i}: {x.size / SAMPLE_RATE:.1f} s is longer than the {max_seconds:.0f} s "
                             "encoder window; use transcribe() (it cuts long audio into chunks)")
        out.append(x)
    if not out:
        raise AudioError("no audio given; pass a list of 16 kHz waveforms")
    return out


def whisper_encode(encoder: nn.Module, mel: torch.Tensor) -> torch.Tensor:
    """Run a Hugging Face WhisperEncoder on a mel window of any length up to its maximum.

    transformers' forward insists on 3000 mel frames; the layers themselves do not, so shorter
    windows (cheaper for short utterances) use the first positions of the learned table.

    Args:
        mel: [B, n_mels, F] log-mel, F even.
    Returns:
        [B, F // 2, d_model]
    """
    x = nn.functional.gelu(encoder.conv1(mel))
    x = nn.functional.gelu(encoder.conv2(x)).permute(0, 2, 1)                    # [B, T, D]
    t = x.shape[1]
    if t > encoder.embed_positions.num_embeddings:
        raise AudioError(f"{t} encoder frames exceed the encoder's {encoder.embed_positions.num_embeddings}")
    x = x + encoder.embed_positions.weight[:t]
    for layer in encoder.layers:
        x = layer(x, None)
    return encoder.layer_norm(x)


def split_long(x: np.ndarray, window_s: float = WHISPER_WINDOW_S, search_s: float = 5.0) -> list[np.ndarray]:
    """Cut audio longer than a window at the quietest 20 ms within the last `search_s` of each window."""
    win, search, hop = int(window_s * SAMPLE_RATE), int(search_s * SAMPLE_RATE), 320
    chunks, start = [], 0
    while len(x) - start > win:
        lo = start + win - search
        seg = x[lo:start + win]
        energy = np.convolve(seg ** 2, np.ones(hop), mode="valid")[::hop // 4]   # [frames]
        cut = lo + int(np.argmin(energy)) * (hop // 4) + hop // 2
        chunks.append(x[start:cut])
        start = cut
    chunks.append(x[start:])
    return [c for c in chunks if len(c) >= MIN_SECONDS * SAMPLE_RATE]


PAUSE_S = 0.25        # silence at least this long separates two pieces of speech
SILENCE_REL = 0.03    # a 10 ms frame is silent below 3 % of the loud frames' RMS


def segment(x: np.ndarray, max_s: float) -> list[np.ndarray]:
    """Cut long audio at pauses, then join neighbouring pieces while they fit in `max_s`.

    Pieces still longer than `max_s` (speech without a pause) are cut at their quietest point.
    The joins keep as much context as fits, the pauses keep words whole."""
    hop = SAMPLE_RATE // 100
    frames = len(x) // hop
    if len(x) <= max_s * SAMPLE_RATE or frames == 0:
        return split_long(x, max_s, min(5.0, max_s / 2))
    rms = np.sqrt((x[:frames * hop].reshape(frames, hop) ** 2).mean(axis=1))          # [frames]
    silent = rms < SILENCE_REL * max(1e-6, float(np.percentile(rms, 95)))
    cuts, run = [], 0
    for i, quiet in enumerate(np.r_[silent, False]):
        if quiet:
            run += 1
        else:
            if run * hop >= PAUSE_S * SAMPLE_RATE:
                cuts.append((i - run // 2) * hop)                                        # middle of the pause
            run = 0
    bounds = [0] + cuts + [len(x)]
    pieces, start = [], 0
    for a, b in zip(bounds[1:], bounds[2:] + [None]):
        if b is None or b - start > max_s * SAMPLE_RATE:   # piece [start, a) is as long as it can get
            pieces += split_long(x[start:a], max_s, min(5.0, max_s / 2))
            start = a
    return [p for p in pieces if len(p) >= MIN_SECONDS * SAMPLE_RATE]


class ASRPolicy(nn.Module):
    """Common interface and helpers; subclasses implement encode/generate/log_probs/save."""

    kind = "asr"
    window_s = WHISPER_WINDOW_S   # longest audio one encode() takes
    chunk_s = WHISPER_WINDOW_S    # transcribe() cuts longer audio into pieces of at most this
    encoder: nn.Module

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def freeze_encoder(self, frozen: bool = True) -> None:
        for p in self.encoder.parameters():
            p.requires_grad_(not frozen)

    @property
    def encoder_frozen(self) -> bool:
        return not any(p.requires_grad for p in self.encoder.parameters())

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def transcribe(self, audio, batch_size: int = 8, max_new_tokens: int | None = None) -> list[str]:
        """Greedy transcripts of any length: audio past the window is cut at pauses and joined."""
        if isinstance(audio, np.ndarray) and audio.ndim == 1:
            audio = [audio]
        pieces, owner = [], []
        for i, x in enumerate(audio):
            for c in segment(np.asarray(x, np.float32), self.chunk_s):
                pieces.append(c)
                owner.append(i)
        texts = []
        with torch.no_grad():
            for k in range(0, len(pieces), batch_size):
                feats = self.encode(pieces[k:k + batch_size])
                texts += self.generate(feats, temperature=0.0, max_new_tokens=max_new_tokens).texts
        joined = [[] for _ in audio]
        for i, t in zip(owner, texts):
            joined[i].append(t.strip())
        return [" ".join(t for t in parts if t) for parts in joined]

    def decode(self, ids: torch.Tensor, mask: torch.Tensor) -> list[str]:
        out = []
        for row, m in zip(ids.tolist(), mask.tolist()):
            toks = [t for t, keep in zip(row, m) if keep and t != self.eos_id]
            out.append(self.tokenizer.decode(toks, skip_special_tokens=True).strip())
        return out

    @staticmethod
    def _gather(logits: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """log p(ids) from logits [N, L, V] -> [N, L]; 0 where mask is False."""
        logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, ids.unsqueeze(-1)).squeeze(-1)
        return logp if mask is None else logp.masked_fill(~mask.bool(), 0.0)


class WhisperPolicy(ASRPolicy):
    """A Hugging Face Whisper model as a GRPO policy (decoder trained, encoder frozen by default)."""

    kind = "whisper"

    def __init__(self, model, tokenizer, freeze_encoder: bool = True):
        super().__init__()
        self.model, self.tokenizer = model, tokenizer
        self.encoder = model.model.encoder
        gc = model.generation_config
        self.eos_id = int(gc.eos_token_id if isinstance(gc.eos_token_id, int) else gc.eos_token_id[0])
        start = int(gc.decoder_start_token_id)
        no_ts = getattr(gc, "no_timestamps_token_id", None)
        self.prefix = [start] + ([int(no_ts)] if no_ts is not None else [])
        self.suppress = list(getattr(gc, "suppress_tokens", None) or [])
        self.begin_suppress = list(getattr(gc, "begin_suppress_tokens", None) or [])
        self.max_target = model.config.max_target_positions
        self.freeze_encoder(freeze_encoder)

    def encode(self, audio) -> Features:
        xs = check_audio(audio, self.window_s)
        n = int(self.window_s * SAMPLE_RATE)
        mel = torch.stack([log_mel(x, pad_to=n) for x in xs]).to(self.device)      # [B, 80, 3000]
        with torch.set_grad_enabled(not self.encoder_frozen):
            hidden = whisper_encode(self.encoder, mel)                                # [B, 1500, D]
        frames = [min(hidden.shape[1], math.ceil(len(x) / (2 * HOP_LENGTH))) for x in xs]
        mask = torch.arange(hidden.shape[1], device=hidden.device)[None] < torch.tensor(frames, device=hidden.device)[:, None]
        return Features(hidden, mask)

    def generate(self, features: Features, num_return_sequences: int = 1, temperature: float = 1.0,
                 top_p: float = 1.0, max_new_tokens: int | None = None,
                 generator: torch.Generator | None = None) -> Generation:
        max_new = min(max_new_tokens or 128, self.max_target - len(self.prefix))
        b = features.hidden.shape[0]
        enc = features.rows(b * num_return_sequences).hidden                         # [N, T, D]
        prefix = torch.tensor([self.prefix], device=enc.device).expand(enc.shape[0], -1)
        with torch.no_grad():
            out = self.model.model.decoder(input_ids=prefix, encoder_hidden_states=enc, use_cache=True)
            first = self.model.proj_out(out.last_hidden_state[:, -1])                # [N, V]

            def step(tok, cache):
                o = self.model.model.decoder(input_ids=tok, encoder_hidden_states=enc, cache=cache, use_cache=True)
                return self.model.proj_out(o.last_hidden_state[:, -1]), o.cache

            s = sample_loop(first, out.cache, step, self.eos_id, self.eos_id, max_new, temperature, top_p,
                            self.suppress, self.begin_suppress, generator)
        return Generation(s.ids, s.mask, s.truncated, self.decode(s.ids, s.mask))

    def log_probs(self, features: Features, completion_ids: torch.Tensor,
                  completion_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced log p(completion | audio): [N, L]."""
        n, p = completion_ids.shape[0], len(self.prefix)
        enc = features.rows(n).hidden
        prefix = torch.tensor([self.prefix], device=enc.device).expand(n, -1)
        inputs = torch.cat([prefix, completion_ids[:, :-1]], dim=1)                  # [N, P + L - 1]
        hidden = self.model.model.decoder(input_ids=inputs, encoder_hidden_states=enc, use_cache=False).last_hidden_state
        logits = self.model.proj_out(hidden[:, p - 1:])                              # [N, L, V], completion only
        return self._gather(logits, completion_ids, completion_mask)

    def decoder_modules(self) -> nn.ModuleList:
        """Everything but the encoder: what the rollout and the update use."""
        return nn.ModuleList([self.model.model.decoder, self.model.proj_out])

    def save_pretrained(self, path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        (path / CONFIG_NAME).write_text(json.dumps({"kind": self.kind}, indent=2))
        return path

    @classmethod
    def from_pretrained(cls, path, freeze_encoder: bool = True) -> "WhisperPolicy":
        from transformers import AutoTokenizer, WhisperForConditionalGeneration

        path = Path(path)
        model = WhisperForConditionalGeneration.from_pretrained(path)
        return cls(model.eval(), AutoTokenizer.from_pretrained(path), freeze_encoder)
