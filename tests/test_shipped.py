"""The shipped LLM-ASR default loads offline and transcribes speech it never heard."""
from __future__ import annotations

from speechrl.data.voices import Voice, synthesize
from speechrl.metrics import wer
from speechrl.models.load import load_asr


def test_shipped_llm_asr_transcribes(data_dir, whisper_dir):
    (data_dir / "models").mkdir()
    (data_dir / "models" / "whisper-tiny.en").symlink_to(whisper_dir)      # the packaged encoder, converted once
    policy = load_asr("llm-asr")
    assert policy.kind == "llm-asr" and policy.encoder_frozen
    texts = ["Please send 14 umbrellas to Nora in Denver by Tuesday.",
             "The workshop with Lenovo moved to Monday at nine o'clock."]
    audio = [synthesize(Voice("piper", "joe"), texts[0]), synthesize(Voice("espeak", "en-gb+m2", 1.0, 48), texts[1])]
    hyps = policy.transcribe(audio)
    assert wer(texts, hyps) < 0.2, hyps
