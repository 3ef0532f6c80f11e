"""The real Whisper tiny.en (converted from its package) behind the policy interface."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from speechrl.audio import AudioError
from speechrl.data.voices import Voice, synthesize
from speechrl.metrics import wer
from speechrl.models.asr import WhisperPolicy
from speechrl.models.load import load_asr


@pytest.fixture(scope="module")
def policy(whisper_dir):
    return load_asr(str(whisper_dir))


@pytest.fixture(scope="module")
def speech():
    texts = ["Please send twelve boxes to Maria in Chicago.", "The meeting with Toyota moved to Friday."]
    return texts, [synthesize(Voice("hibari", "heart"), t) for t in texts]


def test_loads_as_whisper_policy_and_transcribes(policy, speech):
    texts, audio = speech
    assert isinstance(policy, WhisperPolicy) and policy.encoder_frozen
    hyps = policy.transcribe(audio)
    assert wer(texts, hyps) < 0.3, hyps


def test_samples_and_log_probs(policy, speech):
    _, audio = speech
    feats = policy.encode(audio)
    assert feats.hidden.shape == (2, 1500, 384)
    gen = policy.generate(feats, num_return_sequences=3, temperature=1.0, max_new_tokens=24,
                          generator=torch.Generator().manual_seed(0))
    assert gen.ids.shape[0] == 6 and len(gen.texts) == 6
    logp = policy.log_probs(feats, gen.ids, gen.mask)                         # [6, L]
    # teacher-forced reference through the full model forward
    n = gen.ids.shape[0]
    prefix = torch.tensor([policy.prefix]).expand(n, -1)
    with torch.no_grad():
        logits = policy.model(encoder_outputs=(feats.rows(n).hidden,),
                              decoder_input_ids=torch.cat([prefix, gen.ids[:, :-1]], 1)).logits
    expected = torch.log_softmax(logits[:, len(policy.prefix) - 1:], -1).gather(-1, gen.ids[..., None])[..., 0]
    torch.testing.assert_close(logp, expected.masked_fill(~gen.mask, 0.0), atol=1e-4, rtol=1e-4)


def test_save_round_trip(policy, speech, tmp_path):
    _, audio = speech
    policy.save_pretrained(tmp_path / "w")
    again = load_asr(str(tmp_path / "w"))
    f1, f2 = policy.encode(audio[:1]), again.encode(audio[:1])
    g = policy.generate(f1, temperature=0.0, max_new_tokens=20)
    torch.testing.assert_close(policy.log_probs(f1, g.ids, g.mask), again.log_probs(f2, g.ids, g.mask))


def test_long_audio_is_chunked(policy, speech):
    _, audio = speech
    pause = np.zeros(16_000 * 12, np.float32)
    long = np.concatenate([audio[0], pause, audio[1], pause, audio[0]])      # about 35 s
    assert len(long) > 30 * 16_000
    with pytest.raises(AudioError, match="longer than the 30 s"):
        policy.encode([long])
    text = policy.transcribe([long])[0].lower()
    assert "maria" in text and "toyota" in text
