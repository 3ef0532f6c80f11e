"""Audio in: load, validate, down-mix, resample to 16 kHz, Whisper-compatible log-mel.

Every failure is an `AudioError` whose message says what is wrong with which file and what to do,
so the pages and the CLI can show it as it is.
"""
from __future__ import annotations

import io
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

SAMPLE_RATE = 16_000          # Hz, what every model here consumes
N_FFT = 400                   # samples, 25 ms window at 16 kHz (Whisper)
HOP_LENGTH = 160              # samples, 10 ms hop -> 100 frames a second (Whisper)
N_MELS = 80                   # mel bins of Whisper tiny/base/small/medium
MIN_SAMPLE_RATE = 8_000       # Hz; below this speech loses the formants models need
MIN_SECONDS = 0.1             # shorter clips carry no word
MAX_SECONDS = 600.0           # default cap: 10 minutes
SILENCE_PEAK = 1e-4           # peak |amplitude| below which a clip counts as silence (-80 dBFS)


class AudioError(ValueError):
    """A clip cannot be used; the message says why and what to do."""


def read_audio(source: str | os.PathLike | bytes, max_seconds: float = MAX_SECONDS) -> tuple[np.ndarray, int]:
    """Decode a file (or its bytes) to float32 `[T]` or `[T, C]` at its own sample rate."""
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    if not isinstance(source, bytes):
        path = Path(source)
        if not path.exists():
            raise AudioError(f"{name}: file not found; check the path (relative paths in a manifest "
                             "are resolved against the manifest's folder)")
        if path.is_dir():
            raise AudioError(f"{name}: is a folder, not an audio file")
        if path.stat().st_size == 0:
            raise AudioError(f"{name}: file is empty (0 bytes); re-export or re-record it")
    try:
        info = sf.info(io.BytesIO(source) if isinstance(source, bytes) else str(source))
        if max_seconds and info.duration > max_seconds:
            raise AudioError(f"{name}: {info.duration:.1f} s is longer than the {max_seconds:.0f} s cap; "
                             "split it into shorter files or raise the cap (max_seconds)")
        data, sr = sf.read(io.BytesIO(source) if isinstance(source, bytes) else str(source),
                           dtype="float32", always_2d=False)
    except AudioError:
        raise
    except Exception as e:  # soundfile raises LibsndfileError, RuntimeError or TypeError
        raise AudioError(f"{name}: cannot decode audio ({e}); use WAV or FLAC (16-bit PCM or float)") from e
    return data, int(sr)


def to_mono(x: np.ndarray) -> np.ndarray:
    """`[T, C]` -> `[T]` by averaging channels; `[T]` unchanged."""
    return x.mean(axis=1, dtype=np.float32) if x.ndim == 2 else x


def resample(x: np.ndarray, sr: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited resampling (soxr, high quality) of a mono signal."""
    if sr == target:
        return x.astype(np.float32, copy=False)
    if sr <= 0:
        raise AudioError(f"sample rate {sr} Hz is invalid; the file header is broken")
    return soxr.resample(x, sr, target, quality="HQ").astype(np.float32, copy=False)


def validate(x: np.ndarray, sr: int = SAMPLE_RATE, name: str = "audio",
             max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """Raise `AudioError` for NaN/Inf, silence, too short or too long; return `x` unchanged."""
    if x.size == 0:
        raise AudioError(f"{name}: no samples; the file holds a header but no audio")
    if not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).sum())
        raise AudioError(f"{name}: {bad} samples are NaN or Inf; the file is corrupt, re-export it")
    seconds = len(x) / sr
    if seconds < MIN_SECONDS:
        raise AudioError(f"{name}: {seconds * 1000:.0f} ms is shorter than {MIN_SECONDS * 1000:.0f} ms; "
                         "give at least a word of speech")
    if max_seconds and seconds > max_seconds:
        raise AudioError(f"{name}: {seconds:.1f} s is longer than the {max_seconds:.0f} s cap; "
                         "split it into shorter files or raise the cap (max_seconds)")
    if float(np.abs(x).max()) < SILENCE_PEAK:
        raise AudioError(f"{name}: silence only (peak below -80 dBFS); check the recording or the input device")
    return x


def load_audio(source: str | os.PathLike | bytes, sr: int = SAMPLE_RATE,
               max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """Load, down-mix and resample to `sr`, validated: float32 `[T]` in [-1, 1]."""
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    data, file_sr = read_audio(source, max_seconds=max_seconds)
    if file_sr < MIN_SAMPLE_RATE:
        raise AudioError(f"{name}: sample rate {file_sr} Hz is below {MIN_SAMPLE_RATE} Hz; speech needs at "
                         f"least telephone quality (8 kHz); re-record or re-export at 16 kHz")
    x = resample(to_mono(data), file_sr, sr)
    return validate(x, sr, name=name, max_seconds=max_seconds)


def write_wav(path: str | os.PathLike, x: np.ndarray, sr: int = SAMPLE_RATE) -> Path:
    """Write 16-bit PCM WAV atomically (temp file + rename), so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    sf.write(str(tmp), np.clip(x, -1.0, 1.0), sr, subtype="PCM_16", format="WAV")
    os.replace(tmp, path)
    return path


def duration(path: str | os.PathLike) -> float:
    """Seconds of audio in a file, from its header."""
    return float(sf.info(str(path)).duration)


@lru_cache(maxsize=4)
def mel_filters(n_mels: int = N_MELS) -> np.ndarray:
    """Slaney-normalised mel filterbank `[n_mels, N_FFT // 2 + 1]`, as Whisper ships it."""
    import librosa

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=n_mels).astype(np.float32)


def log_mel(x, n_mels: int = N_MELS, pad_to: int | None = None):
    """Whisper's log-mel spectrogram of 16 kHz audio.

    Args:
        x: float waveform `[T]` or batch `[B, T]` (numpy or torch) at 16 kHz.
        n_mels: mel bins (80 for Whisper tiny).
        pad_to: zero-pad (or cut) the waveform to this many samples first; Whisper uses 30 s.
    Returns:
        torch.float32 `[n_mels, T // HOP_LENGTH]` (or `[B, n_mels, frames]`), values in about [-1, 1.5].
    """
    import torch

    wav = torch.as_tensor(np.asarray(x, dtype=np.float32)) if not torch.is_tensor(x) else x.float()
    if pad_to is not None:
        wav = torch.nn.functional.pad(wav, (0, max(0, pad_to - wav.shape[-1])))[..., :pad_to]
    window = torch.hann_window(N_FFT, device=wav.device)
    stft = torch.stft(wav, N_FFT, HOP_LENGTH, window=window, return_complex=True)  # [.., F, frames+1]
    power = stft[..., :-1].abs() ** 2                                                # drop last frame
    mel = torch.from_numpy(mel_filters(n_mels)).to(wav.device) @ power               # [.., n_mels, frames]
    logm = torch.clamp(mel, min=1e-10).log10()
    floor = logm.amax(dim=(-2, -1), keepdim=True) - 8.0                              # 80 dB dynamic range
    return (torch.maximum(logm, floor) + 4.0) / 4.0

