"""Audio loading, validation and log-mel: every bad input gives an AudioError that says why."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from speechrl.audio import AudioError, load_audio, log_mel, resample, validate, write_wav
from tests.conftest import tone


def test_stereo_44k_is_downmixed_and_resampled(tmp_path):
    # 0.5 s stereo at 44.1 kHz: left = tone, right = silence -> mono = tone / 2, 8,000 samples at 16 kHz.
    x = tone(0.5, sr=44_100)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([x, np.zeros_like(x)], axis=1), 44_100)
    y = load_audio(path)
    assert y.dtype == np.float32 and y.ndim == 1
    assert len(y) == 8_000
    assert abs(float(np.abs(y).max()) - 0.25) < 0.02


def test_flac_and_8k_load(tmp_path):
    path = tmp_path / "a.flac"
    sf.write(path, tone(1.0, sr=8_000), 8_000)
    assert len(load_audio(path)) == 16_000  # 1 s at 16 kHz


def test_resample_keeps_frequency():
    # A 1 kHz tone at 48 kHz resampled to 16 kHz still peaks at bin 1000 Hz / (16000 Hz / 16000 bins) = 1000.
    y = resample(tone(1.0, sr=48_000, freq=1000.0), 48_000, 16_000)
    spectrum = np.abs(np.fft.rfft(y))
    assert int(spectrum.argmax()) == 1000


BAD_FILES = [
    # (name, how to make it, words the message must contain)
    ("missing", None, "not found"),
    ("empty", b"", "empty"),
    ("garbage", b"this is not audio at all" * 10, "cannot decode"),
    ("truncated-header", b"RIFF\x24\x00\x00\x00WAVEfmt ", "cannot decode"),
]


@pytest.mark.parametrize("name,content,words", BAD_FILES)
def test_bad_files(tmp_path, name, content, words):
    path = tmp_path / f"{name}.wav"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(AudioError, match=words):
        load_audio(path)


@pytest.mark.parametrize("signal,words", [
    (np.zeros(0, np.float32), "no samples"),
    (np.full(16_000, np.nan, np.float32), "NaN or Inf"),
    (np.r_[tone(1.0), [np.inf]].astype(np.float32), "NaN or Inf"),
    (np.zeros(16_000, np.float32), "silence only"),
    (tone(0.05), "shorter than 100 ms"),          # 0.05 s = 50 ms < 100 ms
    (tone(3.0), "longer than the 2 s cap"),         # cap lowered to 2 s below
])
def test_validate_rejects(signal, words):
    with pytest.raises(AudioError, match=words):
        validate(signal, 16_000, max_seconds=2)


def test_too_long_file_is_rejected_before_decoding(tmp_path):
    path = write_wav(tmp_path / "long.wav", tone(3.0))
    with pytest.raises(AudioError, match="longer than the 2 s cap"):
        load_audio(path, max_seconds=2)


def test_sample_rate_too_low(tmp_path):
    path = tmp_path / "4k.wav"
    sf.write(path, tone(1.0, sr=4_000, freq=300), 4_000)
    with pytest.raises(AudioError, match="below 8000 Hz"):
        load_audio(path)


def test_nan_in_float_file(tmp_path):
    x = tone(1.0)
    x[100] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, x, 16_000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        load_audio(path)


def test_log_mel_matches_whisper_feature_extractor():
    from transformers import WhisperFeatureExtractor

    x = np.random.default_rng(0).standard_normal(16_000 * 2).astype(np.float32) * 0.1
    fe = WhisperFeatureExtractor(feature_size=80)
    ref = fe(x, sampling_rate=16_000, return_tensors="np").input_features[0]   # [80, 3000] (30 s padded)
    ours = log_mel(x, pad_to=16_000 * 30)                                          # [80, 3000]
    assert ours.shape == (80, 3000)
    torch.testing.assert_close(ours, torch.from_numpy(ref), atol=2e-3, rtol=1e-3)


def test_log_mel_batch_shape():
    # 1 s of audio = 16,000 samples / 160 hop = 100 frames.
    assert log_mel(np.zeros((3, 16_000), np.float32) + 0.1).shape == (3, 80, 100)
