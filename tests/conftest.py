"""Shared fixtures: seeded RNGs, a temporary data directory, and one small real corpus per
session (synthesized by the project's own builder, not mocked)."""
from __future__ import annotations

import random

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _seed():
    random.seed(0)
    np.random.seed(0)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """An empty data directory for this test (SPEECHRL_DATA points at it)."""
    d = tmp_path / "data"
    d.mkdir()
    monkeypatch.setenv("SPEECHRL_DATA", str(d))
    return d


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory):
    """A 40-utterance corpus with 2 long recordings, built once per test session."""
    from speechrl.data.corpus import CorpusSpec, build

    out = tmp_path_factory.mktemp("corpus") / "small"
    build(out, CorpusSpec(size=40, long=2, long_min_s=20, long_max_s=30), quiet=True)
    return out


@pytest.fixture(scope="session")
def whisper_dir(tmp_path_factory):
    """Whisper tiny.en converted from its installed package into a temporary folder, once."""
    from speechrl.models.convert import whisper_tiny_en

    return whisper_tiny_en(tmp_path_factory.mktemp("models") / "whisper-tiny.en")


def tone(seconds: float = 1.0, sr: int = 16_000, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
