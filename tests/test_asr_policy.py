"""ASR policy interface on the tiny LLM-ASR (random init, built locally): log_probs equals a
teacher-forced forward pass, G samples per input, features computed once, KV-cache decoding
agrees with the full forward, save/load round trip, and clear errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from speechrl.audio import AudioError
from speechrl.models.asr import CheckpointError, split_long
from speechrl.models.llm_asr import tiny_llm_asr
from speechrl.models.load import load_asr
from speechrl.models.sampling import sample_token


@pytest.fixture(scope="module")
def policy():
    return tiny_llm_asr(seed=0)


@pytest.fixture
def audio():
    rng = np.random.default_rng(0)
    return [rng.standard_normal(int(16_000 * s)).astype(np.float32) * 0.1 for s in (1.3, 2.0, 0.7)]


def test_generate_gives_g_sequences_per_input(policy, audio):
    feats = policy.encode(audio)
    gen = policy.generate(feats, num_return_sequences=4, max_new_tokens=12, temperature=1.0)
    assert gen.ids.shape[0] == 3 * 4 and len(gen.texts) == 12 and gen.mask.shape == gen.ids.shape
    assert gen.ids.shape[1] <= 12


def test_log_probs_match_teacher_forced_forward(policy, audio):
    feats = policy.encode(audio)
    gen = policy.generate(feats, num_return_sequences=2, max_new_tokens=10)
    logp = policy.log_probs(feats, gen.ids, gen.mask)                        # [6, L]
    n, length = gen.ids.shape
    emb, mask = policy.prefix(feats, n)                                       # full forward over everything
    tok = policy.lm.get_input_embeddings()(gen.ids)
    full = policy.lm(inputs_embeds=torch.cat([emb, tok], 1),
                     attention_mask=torch.cat([mask, torch.ones_like(gen.ids, dtype=torch.bool)], 1).long()).logits
    p = emb.shape[1]
    expected = torch.log_softmax(full[:, p - 1:p + length - 1], -1).gather(-1, gen.ids[..., None])[..., 0]
    torch.testing.assert_close(logp, expected.masked_fill(~gen.mask, 0.0), atol=1e-5, rtol=1e-5)


def test_greedy_kv_cache_decoding_agrees_with_full_forward(policy, audio):
    # each greedy token must be the argmax of the teacher-forced distribution at its position
    feats = policy.encode(audio[:2])
    gen = policy.generate(feats, temperature=0.0, max_new_tokens=15)
    n, length = gen.ids.shape
    emb, mask = policy.prefix(feats, n)
    tok = policy.lm.get_input_embeddings()(gen.ids)
    full = policy.lm(inputs_embeds=torch.cat([emb, tok], 1),
                     attention_mask=torch.cat([mask, torch.ones_like(gen.ids, dtype=torch.bool)], 1).long()).logits
    argmax = full[:, emb.shape[1] - 1:emb.shape[1] + length - 1].argmax(-1)
    assert torch.equal(argmax[gen.mask], gen.ids[gen.mask])


def test_features_computed_once_per_utterance(policy, audio):
    calls = []
    hook = policy.encoder.conv1.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    try:
        feats = policy.encode(audio)                                         # 3 utterances, one batch
        gen = policy.generate(feats, num_return_sequences=5, max_new_tokens=6)
        policy.log_probs(feats, gen.ids, gen.mask)
    finally:
        hook.remove()
    assert calls == [3]                                                      # not 15, and not again for the loss


def test_log_probs_backpropagate_to_projector_and_lm_not_encoder(policy, audio):
    feats = policy.encode(audio[:1])
    gen = policy.generate(feats, num_return_sequences=2, max_new_tokens=5)
    policy.zero_grad()
    (policy.log_probs(feats, gen.ids, gen.mask).sum()).backward()
    assert policy.projector.net[0].weight.grad is not None
    assert policy.lm.get_input_embeddings().weight.grad is not None
    assert all(p.grad is None for p in policy.encoder.parameters())


def test_save_and_load_round_trip(policy, audio, tmp_path):
    policy.save_pretrained(tmp_path / "ckpt")
    again = load_asr(str(tmp_path / "ckpt"))
    feats_a, feats_b = policy.encode(audio), again.encode(audio)
    torch.testing.assert_close(feats_a.hidden, feats_b.hidden)
    gen = policy.generate(feats_a, max_new_tokens=8, temperature=0.0)
    torch.testing.assert_close(policy.log_probs(feats_a, gen.ids, gen.mask),
                               again.log_probs(feats_b, gen.ids, gen.mask))


def test_half_precision_checkpoint_is_smaller(policy, tmp_path):
    def size(p):
        return sum(f.stat().st_size for f in p.rglob("*.safetensors"))
    policy.save_pretrained(tmp_path / "f32")
    policy.save_pretrained(tmp_path / "f16", dtype=torch.float16)
    assert size(tmp_path / "f16") < 0.6 * size(tmp_path / "f32")
    assert next(policy.lm.parameters()).dtype == torch.float32               # the live model is untouched


@pytest.mark.parametrize("bad,words", [
    ([np.zeros(0, np.float32)], "empty or too short"),
    ([np.ones(16_000 * 31, np.float32) * 0.1], "longer than the 30 s"),
    ([np.full(16_000, np.nan, np.float32)], "NaN"),
    ([], "no audio"),
])
def test_bad_audio(policy, bad, words):
    with pytest.raises(AudioError, match=words):
        policy.encode(bad)


def test_missing_or_wrong_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_asr(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no config.json"):
        load_asr(str(tmp_path / "empty"))
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text('{"model_type": "bert", "architectures": ["BertModel"]}')
    with pytest.raises(CheckpointError, match="holds a bert model"):
        load_asr(str(tmp_path / "bert"))


def test_transcribe_cuts_long_audio(policy):
    x = np.random.default_rng(1).standard_normal(16_000 * 70).astype(np.float32) * 0.1
    x[16_000 * 28:16_000 * 29] = 0.0                                         # a pause near the first 30 s cut
    chunks = split_long(x)
    assert len(chunks) == 3 and sum(map(len, chunks)) == len(x)
    assert 27.9 * 16_000 <= len(chunks[0]) <= 29.1 * 16_000                  # cut inside the pause
    assert len(policy.transcribe([x], max_new_tokens=4)) == 1


@pytest.mark.parametrize("top_p,allowed", [(0.5, {0}), (0.75, {0, 1}), (1.0, {0, 1, 2})])
def test_top_p(top_p, allowed):
    # probabilities 0.6, 0.3, 0.1: top_p 0.5 keeps {0}; 0.75 keeps {0, 1} (0.6 < 0.75); 1.0 keeps all
    logits = torch.log(torch.tensor([[0.6, 0.3, 0.1]])).expand(4000, -1)
    got = set(sample_token(logits, 1.0, top_p, torch.Generator().manual_seed(0)).tolist())
    assert got == allowed


@pytest.mark.parametrize("mode", ["lora", "frozen"])
def test_lm_modes(audio, tmp_path, mode):
    p = tiny_llm_asr(seed=1).set_lm_mode(mode)
    trainable = {n for n, t in p.named_parameters() if t.requires_grad}
    assert any(n.startswith("projector.") for n in trainable)
    lm_trainable = {n for n in trainable if n.startswith("lm.")}
    assert (lm_trainable and all("lora_" in n for n in lm_trainable)) if mode == "lora" else not lm_trainable
    feats = p.encode(audio[:1])
    gen = p.generate(feats, num_return_sequences=2, max_new_tokens=6)
    p.log_probs(feats, gen.ids, gen.mask).sum().backward()
    if mode == "lora":    # make the adapters matter, then check the merged save reproduces them
        with torch.no_grad():
            for n, t in p.named_parameters():
                if "lora_B" in n:
                    t.add_(0.05)
    p.save_pretrained(tmp_path / mode)
    again = load_asr(str(tmp_path / mode))
    g = p.generate(feats, temperature=0.0, max_new_tokens=6)
    torch.testing.assert_close(p.log_probs(feats, g.ids, g.mask), again.log_probs(again.encode(audio[:1]), g.ids, g.mask),
                               atol=1e-5, rtol=1e-4)


def test_left_align_moves_padding_left():
    from speechrl.models.llm_asr import left_align

    x = torch.arange(1, 7, dtype=torch.float32).view(2, 3, 1)               # rows [1,2,3] and [4,5,6]
    mask = torch.tensor([[True, True, True], [True, False, False]])        # row 2 has one real frame
    out, m = left_align(x, mask)
    assert out[:, :, 0].tolist() == [[1, 2, 3], [0, 0, 4]]
    assert m.tolist() == [[True, True, True], [False, False, True]]


def test_batch_padding_does_not_change_results(policy, audio):
    # the same features, alone or right-padded to a longer batch's width, give the same log-probs
    from speechrl.models.asr import Features

    alone = policy.encode(audio[:1])                                           # [1, T, D]
    t, d = alone.hidden.shape[1:]
    padded = Features(torch.cat([alone.hidden, torch.randn(1, 3 * t, d)], 1),
                      torch.cat([alone.mask, torch.zeros(1, 3 * t, dtype=torch.bool)], 1))
    gen = policy.generate(alone, temperature=0.0, max_new_tokens=8)
    torch.testing.assert_close(policy.log_probs(padded, gen.ids, gen.mask),
                               policy.log_probs(alone, gen.ids, gen.mask), atol=1e-5, rtol=1e-5)
    assert policy.generate(padded, temperature=0.0, max_new_tokens=8).texts == gen.texts


def test_segment_cuts_at_pauses_and_joins_up_to_max():
    from speechrl.models.asr import segment

    sr = 16_000
    burst = (0.3 * np.sin(2 * np.pi * 200 * np.arange(2 * sr) / sr)).astype(np.float32)   # 2 s of "speech"
    gap = np.zeros(sr // 2, np.float32)                                                    # 0.5 s pause
    x = np.concatenate([np.r_[burst, gap] for _ in range(10)])                              # 25 s
    pieces = segment(x, max_s=6.0)
    # 2 bursts + 1 pause = 4.5 s fits in 6 s, 3 bursts do not -> 5 pieces of two bursts each
    assert len(pieces) == 5 and sum(map(len, pieces)) == len(x)
    for p in pieces:
        assert len(p) <= 6 * sr and abs(p[0]) < 1e-6     # every cut falls inside a pause
