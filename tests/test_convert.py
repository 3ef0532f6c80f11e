"""Converters from the pip-installed models to Hugging Face folders: the CTranslate2 reader, Whisper
tiny.en (it must really transcribe speech from the project's own voices), the save/load round trip,
clear errors for bad sources, and SmolLM2 from GGUF. Conversions go to a temporary folder, never to
the real cache."""
from __future__ import annotations

import math
import struct
import time

import numpy as np
import pytest
import torch

from speechrl.data.voices import Voice, synthesize
from speechrl.metrics import wer
from speechrl.models.convert import (CT2_BINARY_VERSION, MARKER, WHISPER_PIP, causal_lm_from_gguf, conversion_info,
                                     ct2_header, read_ct2, smollm2, whisper_from_ct2, whisper_source,
                                     whisper_tiny_en)

MAX_WER = 0.35
SENTENCES = [
    (Voice("hibari", "heart"), "The weather is nice today, so we will walk to the park."),
    (Voice("piper", "joe"), "Please send me the report before the meeting on Friday."),
    (Voice("hibari", "heart"), "She bought three apples and a loaf of bread at the market."),
    (Voice("piper", "joe"), "The train to the city leaves every morning at eight o'clock."),
]


# --- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def converted():
    """(model, processor) straight from the CTranslate2 files, never saved."""
    return whisper_from_ct2(whisper_source())


@pytest.fixture(scope="module")
def reloaded(whisper_dir):
    """(model, processor) loaded back from the saved folder with plain transformers."""
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    model = WhisperForConditionalGeneration.from_pretrained(whisper_dir).eval()
    return model, WhisperProcessor.from_pretrained(whisper_dir)


def ct2_bytes(spec: str, variables: dict[str, tuple[int, list[int], bytes]], aliases: dict[str, str]) -> bytes:
    """A CTranslate2 version-6 model.bin: variables name -> (dtype code, shape, raw bytes)."""
    def string(s: str) -> bytes:
        b = s.encode() + b"\0"
        return struct.pack("<H", len(b)) + b

    out = struct.pack("<I", CT2_BINARY_VERSION) + string(spec) + struct.pack("<II", 1, len(variables))
    for name, (code, shape, raw) in variables.items():
        out += string(name) + struct.pack("<B", len(shape)) + struct.pack(f"<{len(shape)}I", *shape)
        out += struct.pack("<BI", code, len(raw)) + raw
    out += struct.pack("<I", len(aliases))
    for alias, target in aliases.items():
        out += string(alias) + string(target)
    return out


# --- CTranslate2 reader ---------------------------------------------------------------------------
def test_read_ct2_header_and_variables():
    header = ct2_header(whisper_source())
    assert (header.version, header.spec, header.revision, header.num_variables) == (6, "WhisperSpec", 3, 148)
    v = read_ct2(whisper_source())
    assert len(v) == 149                                                     # 148 variables + 1 alias
    assert v["decoder/embeddings/weight"].shape == (51864, 384)
    assert v["decoder/embeddings/weight"].dtype == np.float16
    assert v["encoder/conv1/weight"].shape == (384, 80, 3)                   # [out, mels, kernel]
    assert v["encoder/position_encodings/encodings"].shape == (1500, 384)
    assert v["decoder/position_encodings/encodings"].shape == (448, 384)
    assert v["encoder/layer_3/self_attention/linear_0/weight"].shape == (1152, 384)  # fused [q; k; v]
    assert v["decoder/layer_0/attention/linear_1/weight"].shape == (768, 384)        # fused cross [k; v]
    assert int(v["encoder/num_heads"]) == 6 and int(v["decoder/activation"]) == 3    # 6 heads, GELU
    assert v["decoder/projection/weight"] is v["decoder/embeddings/weight"]          # tied output layer
    # CT2 fills the key bias HF Whisper does not have with zeros.
    assert not v["encoder/layer_0/self_attention/linear_0/bias"][384:768].any()


def test_read_ct2_dtypes_and_aliases(tmp_path):
    bf16 = (np.array([1.5, -2.0], np.float32).view(np.uint32) >> 16).astype("<u2").tobytes()
    path = tmp_path / "model.bin"
    path.write_bytes(ct2_bytes("TestSpec", {
        "a/weight": (4, [2, 2], np.arange(4, dtype="<f2").tobytes()),
        "b": (5, [2], bf16),
        "n": (2, [], struct.pack("<h", 7)),
    }, {"c/weight": "a/weight"}))
    v = read_ct2(tmp_path)
    np.testing.assert_array_equal(v["a/weight"], [[0, 1], [2, 3]])
    np.testing.assert_array_equal(v["b"], [1.5, -2.0])
    assert v["b"].dtype == np.float32 and int(v["n"]) == 7
    assert v["c/weight"] is v["a/weight"]


# --- Whisper --------------------------------------------------------------------------------------
def test_weights_come_from_the_file(converted):
    model, processor = converted
    v = read_ct2(whisper_source())
    qkv = v["decoder/layer_2/self_attention/linear_0/weight"].astype(np.float32)   # [3*384, 384]
    layer = model.model.decoder.layers[2]
    np.testing.assert_array_equal(layer.self_attn.v_proj.weight.detach().numpy(), qkv[768:])
    np.testing.assert_array_equal(layer.encoder_attn.out_proj.bias.detach().numpy(),
                                  v["decoder/layer_2/attention/linear_2/bias"].astype(np.float32))
    assert model.proj_out.weight.data_ptr() == model.model.decoder.embed_tokens.weight.data_ptr()
    assert model.dtype == torch.float32 and model.num_parameters() == 37_760_256
    assert len(processor.tokenizer) == model.config.vocab_size == 51864
    gen = model.generation_config
    assert (gen.decoder_start_token_id, gen.eos_token_id, gen.no_timestamps_token_id) == (50257, 50256, 50362)
    assert gen.is_multilingual is False and not hasattr(gen, "lang_to_id")


def test_whisper_transcribes_synthetic_speech(reloaded):
    model, processor = reloaded
    audio = [synthesize(voice, text) for voice, text in SENTENCES]              # 16 kHz float32 [T]
    feats = processor.feature_extractor(audio, sampling_rate=16_000, return_tensors="pt")  # [4, 80, 3000]
    assert tuple(feats.input_features.shape) == (4, 80, 3000)
    with torch.no_grad():
        ids = model.generate(input_features=feats.input_features, max_new_tokens=64)
    hyps = processor.batch_decode(ids, skip_special_tokens=True)
    refs = [text for _, text in SENTENCES]
    score = wer(refs, hyps)
    for r, h in zip(refs, hyps):
        print(f"REF: {r}\nHYP: {h.strip()}")
    print(f"corpus WER of converted whisper tiny.en on {len(refs)} synthetic sentences: {score:.3f}")
    assert score < MAX_WER, f"WER {score:.3f} >= {MAX_WER}: {hyps}"


def test_save_load_round_trip_gives_identical_logits(converted, reloaded, whisper_dir):
    (a, proc_a), (b, proc_b) = converted, reloaded
    features = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 80, 3000)).astype(np.float32))
    prompt = torch.tensor([[50257, 50362, 383, 2068]])                          # SOT, no-timestamps, " The quick"
    with torch.no_grad():
        logits_a = a(input_features=features, decoder_input_ids=prompt).logits     # [1, 4, 51864]
        logits_b = b(input_features=features, decoder_input_ids=prompt).logits
    assert logits_a.shape == (1, 4, 51864)
    assert torch.equal(logits_a, logits_b)
    assert proc_a.tokenizer("Hello world.").input_ids == proc_b.tokenizer("Hello world.").input_ids
    assert b.generation_config.suppress_tokens == a.generation_config.suppress_tokens
    assert conversion_info(whisper_dir)["parameters"] == 37_760_256


def test_cached_conversion_returns_at_once(whisper_dir):
    t0 = time.perf_counter()
    assert whisper_tiny_en(whisper_dir) == whisper_dir
    assert time.perf_counter() - t0 < 0.5
    assert (whisper_dir / MARKER).is_file() and (whisper_dir / "model.safetensors").is_file()
    assert not list(whisper_dir.parent.glob(".*tmp-*"))                         # no temp folder left behind


# --- errors ---------------------------------------------------------------------------------------
def test_missing_source_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match=WHISPER_PIP):
        whisper_from_ct2(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="model.bin"):
        whisper_from_ct2(tmp_path)                                               # a folder without model.bin


def test_wrong_or_broken_model_file_is_rejected(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"definitely not a model" * 10)
    with pytest.raises(ValueError, match="binary version"):
        whisper_from_ct2(tmp_path)
    (tmp_path / "model.bin").write_bytes(ct2_bytes("TransformerSpec", {}, {}))
    with pytest.raises(ValueError, match="not a WhisperSpec"):
        whisper_from_ct2(tmp_path)
    with open(whisper_source() / "model.bin", "rb") as fh:
        (tmp_path / "model.bin").write_bytes(fh.read(1 << 20))                  # first 1 MiB only
    with pytest.raises(ValueError, match="truncated"):
        read_ct2(tmp_path)


def test_unfinished_cache_folder_is_not_overwritten(tmp_path):
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="delete it"):
        whisper_tiny_en(tmp_path / "w")
    assert (tmp_path / "w" / "notes.txt").read_text() == "mine"


def test_gguf_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no GGUF file"):
        causal_lm_from_gguf(tmp_path, "missing.gguf")
    (tmp_path / "fake.gguf").write_bytes(b"NOPE" + bytes(100))
    with pytest.raises(ValueError, match="GGUF magic"):
        causal_lm_from_gguf(tmp_path, "fake.gguf")


# --- SmolLM2 --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_smollm2_converts_and_knows_paris(tmp_path_factory):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    t0 = time.perf_counter()
    folder = smollm2(tmp_path_factory.mktemp("models") / "smollm2-135m")
    info = conversion_info(folder)
    print(f"SmolLM2 converted in {time.perf_counter() - t0:.1f} s (GGUF load {info['gguf_load_s']} s), "
          f"{info['parameters']:,} parameters")
    t0 = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    tok = AutoTokenizer.from_pretrained(folder)
    print(f"SmolLM2 reload from the saved folder: {time.perf_counter() - t0:.2f} s")
    assert model.num_parameters() == info["parameters"] == 134_515_008
    assert model.dtype == torch.float32 and getattr(model.config, "quantization_config", None) is None

    inputs = tok("The capital of France is", return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=8, do_sample=False)
        text = tok.decode(out[0, inputs.input_ids.shape[1]:], skip_special_tokens=True)
        sentence = tok("The cat sat on the mat and looked out of the window.", return_tensors="pt").input_ids
        loss = model(input_ids=sentence, labels=sentence).loss.item()          # mean next-token NLL, nats
    print(f"continuation: {text!r}; English sentence loss {loss:.2f} nats vs log(V) = {math.log(len(tok)):.2f}")
    assert "Paris" in text
    assert loss < 0.5 * math.log(len(tok))
