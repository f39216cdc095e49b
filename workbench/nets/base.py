"""The model registry, apart from the models, so that every net module can register into
it and ``workbench.models`` only imports (no cycle between ``models`` and ``nets``).

A model is a frozen dataclass of declared parameters (``workbench.params.param``) with a
``tasks`` class var (the tasks it can fit) and ``build(n_in, n_out) -> nn.Module``.

Example:
    >>> MODELS.kind
    'model'
"""

from __future__ import annotations

from ..registry import Registry

MODELS = Registry("model")

# Why a limit: a typo such as hidden=[100000000] otherwise ends in an allocation failure
# deep inside torch. 50 million float32 parameters are 200 MB (800 MB with Adam's state and
# the gradients): far beyond what this workbench's data sets need, well within a laptop.
MAX_PARAMS = 50_000_000
MAX_WIDTH = 65_536  # one layer's width (hidden units, channels, d_model, positions)


def count_params(model_spec, n_in: int, n_out: int) -> int:
    """Parameters of ``model_spec.build(n_in, n_out)``, built on the meta device (no memory).

    Example:
        >>> count_params(MODELS.create("mlp", hidden=[16]), 8, 3)
        195
    """
    import torch

    with torch.device("meta"):
        return sum(p.numel() for p in model_spec.build(n_in, n_out).parameters())
