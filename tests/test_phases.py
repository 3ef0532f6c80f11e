"""Device alternation ledger: with alternation only the phase's components are resident, so
the peak drops by at least the largest idle component; without it everything stays."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from speechrl.rl.phases import PhaseLedger, tensor_bytes


def _run(alternate: bool) -> PhaseLedger:
    torch.manual_seed(0)
    encoder, policy, reward = nn.Linear(64, 64), nn.Linear(32, 32), nn.Linear(128, 128)  # 16.6 KB, 4.2 KB, 66 KB
    opt = torch.optim.Adam(policy.parameters(), lr=1e-3)
    ledger = PhaseLedger("cpu", alternate=alternate)
    ledger.register("encoder", encoder)
    ledger.register("reward", reward)
    ledger.register("policy", policy, opt)
    with ledger.phase("encode", uses=["encoder"]):
        encoder(torch.randn(2, 64))
    with ledger.phase("reward", uses=["reward"]):
        reward(torch.randn(2, 128))
    with ledger.phase("train", uses=["policy"]):
        policy(torch.randn(2, 32)).sum().backward()
        opt.step()
    return ledger


def test_alternation_lowers_the_peak():
    on, off = _run(True), _run(False)
    sizes = {name: c.bytes for name, c in off.components.items()}
    by_phase_on = {r.name: r.resident_bytes for r in on.records}
    assert by_phase_on["encode"] == sizes["encoder"]            # (64*64 + 64) * 4 bytes = 16,640
    assert sizes["encoder"] == (64 * 64 + 64) * 4
    # policy + Adam's two moments: 3 x (32*32 + 32) * 4 bytes (+ step counters, scalars)
    assert by_phase_on["train"] >= 3 * (32 * 32 + 32) * 4
    assert off.records[-1].resident_bytes == sum(sizes.values())  # all resident (Adam state exists after train)
    # peak phase with alternation is "reward"; the largest idle component then is the encoder
    assert off.peak_bytes() - on.peak_bytes() >= sizes["encoder"]


def test_step_metrics_are_namespaced():
    m = _run(True).step_metrics()
    assert set(m) == {f"phase/{p}_{k}" for p in ("encode", "reward", "train") for k in ("s", "bytes")}
    assert m["phase/encode_bytes"] == (64 * 64 + 64) * 4 and m["phase/train_s"] >= 0


def test_unknown_component():
    ledger = PhaseLedger("cpu")
    with pytest.raises(KeyError, match="unregistered"):
        with ledger.phase("x", uses=["nope"]):
            pass


def test_tensor_bytes_counts_buffers_and_optimizer_state():
    bn = nn.BatchNorm1d(10)            # weight, bias (params) + running mean/var + count (buffers)
    assert tensor_bytes(bn) == 10 * 4 * 4 + 8


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_moves_components_off():
    enc, pol = nn.Linear(256, 256), nn.Linear(256, 256)
    ledger = PhaseLedger("cuda", alternate=True)
    ledger.register("encoder", enc)
    ledger.register("policy", pol)
    with ledger.phase("encode", uses=["encoder"]):
        assert enc.weight.is_cuda and not pol.weight.is_cuda
    with ledger.phase("train", uses=["policy"]):
        assert pol.weight.is_cuda and not enc.weight.is_cuda
    assert all(r.peak_bytes > 0 for r in ledger.records)
