"""Device alternation: components take turns on the accelerator, phase by phase.

    ledger = PhaseLedger(device, alternate=True)
    ledger.register("encoder", encoder); ledger.register("policy", policy, optimizer)
    with ledger.phase("encode", uses=["encoder"]):
        feats = encoder(...)

With `alternate=True` a phase moves the components it uses onto the device and every other one
off it (to the CPU), so the peak holds only what that phase needs. With `alternate=False`
everything stays resident, for comparison. For each phase the ledger records seconds, the bytes
of parameters, buffers and optimizer state resident on the device, and on CUDA the measured
`torch.cuda.max_memory_allocated` during the phase.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

OFFLOAD = torch.device("cpu")


def tensor_bytes(module: nn.Module | None = None, optimizer: torch.optim.Optimizer | None = None) -> int:
    """Bytes of a module's parameters and buffers plus an optimizer's state tensors."""
    n = 0
    if module is not None:
        n += sum(t.numel() * t.element_size() for t in list(module.parameters()) + list(module.buffers()))
    if optimizer is not None:
        n += sum(v.numel() * v.element_size() for s in optimizer.state.values() for v in s.values()
                 if torch.is_tensor(v))
    return n


def move_optimizer(optimizer: torch.optim.Optimizer, device: torch.device) -> None:
    """Move an optimizer's state tensors (Adam moments, ...) to a device."""
    for state in optimizer.state.values():
        for k, v in state.items():
            if torch.is_tensor(v) and v.device != device and v.dim() > 0:
                state[k] = v.to(device, non_blocking=True)


@dataclass
class Component:
    name: str
    module: nn.Module | None
    optimizer: torch.optim.Optimizer | None = None
    on_device: bool = False

    @property
    def bytes(self) -> int:
        return tensor_bytes(self.module, self.optimizer)

    def to(self, device: torch.device) -> None:
        if self.module is not None:
            self.module.to(device)
        if self.optimizer is not None:
            move_optimizer(self.optimizer, device)


@dataclass
class PhaseRecord:
    name: str
    seconds: float
    resident_bytes: int             # parameters + buffers + optimizer state on the device
    peak_bytes: int                 # measured on CUDA; equal to resident_bytes elsewhere
    components: tuple[str, ...]


@dataclass
class PhaseLedger:
    """Moves components per phase and records what each phase cost."""

    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    alternate: bool = True
    components: dict[str, Component] = field(default_factory=dict)
    records: list[PhaseRecord] = field(default_factory=list)

    def __post_init__(self):
        self.device = torch.device(self.device)

    def register(self, name: str, module: nn.Module | None, optimizer: torch.optim.Optimizer | None = None) -> None:
        """Add a component; without alternation it goes to the device at once and stays."""
        comp = Component(name, module, optimizer)
        self.components[name] = comp
        if not self.alternate:
            comp.to(self.device)
            comp.on_device = True

    def _place(self, uses: list[str]) -> None:
        unknown = [u for u in uses if u not in self.components]
        if unknown:
            raise KeyError(f"phase uses unregistered component(s) {unknown}; registered: {list(self.components)}")
        if not self.alternate:
            return
        for comp in self.components.values():     # off first, so the peak never holds both
            if comp.on_device and comp.name not in uses:
                comp.to(OFFLOAD)
                comp.on_device = False
        for name in uses:
            comp = self.components[name]
            if not comp.on_device:
                comp.to(self.device)
                comp.on_device = True

    @contextmanager
    def phase(self, name: str, uses: list[str]):
        """Run a block with `uses` on the device; record seconds and bytes."""
        self._place(uses)
        cuda = self.device.type == "cuda"
        if cuda:
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        resident = sum(c.bytes for c in self.components.values() if c.on_device)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            if cuda:
                torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device) if cuda else resident
            # optimizer state may have been created during the phase (first Adam step)
            resident = max(resident, sum(c.bytes for c in self.components.values() if c.on_device))
            self.records.append(PhaseRecord(name, time.perf_counter() - t0, resident,
                                            max(peak, resident) if not cuda else peak, tuple(uses)))

    def step_metrics(self, since: int = 0) -> dict[str, float]:
        """`phase/<name>_s` and `phase/<name>_bytes` summed (seconds) / maxed (bytes) over records[since:]."""
        out: dict[str, float] = {}
        for r in self.records[since:]:
            out[f"phase/{r.name}_s"] = out.get(f"phase/{r.name}_s", 0.0) + r.seconds
            out[f"phase/{r.name}_bytes"] = max(out.get(f"phase/{r.name}_bytes", 0), r.peak_bytes)
        return out

    def peak_bytes(self) -> int:
        return max((r.peak_bytes for r in self.records), default=0)
