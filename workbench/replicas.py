"""The models of R >= 1 replicas behind one interface: forward, optimiser tensors, outputs.

The training loop (``engine.fit``) always works on a replica axis: inputs (R, B, ...),
outputs (R, B, ...). A single replica keeps its plain ``nn.Module`` (any model, dropout
included, and the exact operations of a run trained alone); several replicas of one model
shape are stacked along a leading dimension (``torch.func.stack_module_state``) and run
through ``stacked_forward`` (one ``baddbmm`` per MLP layer, ``vmap`` otherwise). Summing
the replicas' objectives gives each replica exactly its own gradient, and Adam/SGD act
elementwise, so a replica trained in a stack follows the run trained alone up to float
rounding of the batched matmuls.

Example:
    >>> from torch import nn
    >>> one = ModelStack([nn.Linear(3, 2)])
    >>> one.forward(torch.zeros(1, 5, 3)).shape, len(one.tensors())
    (torch.Size([1, 5, 2]), 2)
    >>> two = ModelStack([nn.Linear(3, 2), nn.Linear(3, 2)])
    >>> two.predict(torch.zeros(7, 3)).shape
    torch.Size([2, 7, 2])
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.func import functional_call, stack_module_state

from .evaluation import predict
from .stacked_forward import predict_all, stacked_forward


class ReplicaModel(nn.Module):
    """One replica's view of the stacked parameters, usable wherever a model is."""

    def __init__(self, base: nn.Module, params: dict, buffers: dict):
        super().__init__()
        self.base, self.params, self.buffers_ = base, params, buffers

    def forward(self, x):
        return functional_call(self.base, (self.params, self.buffers_), (x,))


class ModelStack:
    """R freshly built models (same shape) trained as one; R = 1 is a plain module."""

    def __init__(self, models: list[nn.Module]):
        self.R = len(models)
        self.first = models[0]
        if self.R == 1:
            self.params = dict(self.first.named_parameters())
            return
        self.params, self.buffers = stack_module_state(models)
        self.base = copy.deepcopy(self.first).to("meta")
        self._forward = stacked_forward(self.first)

    def tensors(self) -> list[torch.Tensor]:
        """What the optimiser updates."""
        return list(self.params.values())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(R, B, ...) inputs, one batch per replica -> (R, B, ...) outputs."""
        if self.R == 1:
            return self.first(x[0]).unsqueeze(0)
        return self._forward(self.params, self.buffers, x)

    def predict(self, X: torch.Tensor) -> torch.Tensor:
        """Every replica's outputs on the whole of ``X`` (eval mode, no gradient): (R, n, ...)."""
        if self.R == 1:
            return predict(self.first, X).unsqueeze(0)
        return predict_all(self.first, self.params, self.buffers, X)

    def snapshot(self, r: int):
        """A copy of replica r's current weights (for model selection)."""
        if self.R == 1:
            return copy.deepcopy(self.first.state_dict())
        return self._replica(r)

    def model(self, r: int, snapshot=None) -> nn.Module:
        """Replica r as a module: its ``snapshot`` if given, else its current weights."""
        if self.R == 1:
            if snapshot is not None:
                self.first.load_state_dict(snapshot)
            return self.first
        return snapshot if snapshot is not None else self._replica(r)

    def _replica(self, r: int) -> ReplicaModel:
        def pick(t):
            return t[r].detach().clone()

        return ReplicaModel(self.base, {k: pick(v) for k, v in self.params.items()},
                            {k: pick(v) for k, v in self.buffers.items()})
