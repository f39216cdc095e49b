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

    Cached per (spec, widths): a spec is a frozen dataclass of plain values (its type and
    repr say what it builds), and building even on the meta device costs about 1 ms (the
    initialisers run), which every ``RunConfig.validate`` would pay.

    Example:
        >>> count_params(MODELS.create("mlp", hidden=[16]), 8, 3)
        195
    """
    key = (type(model_spec), repr(model_spec), n_in, n_out)
    if key not in _COUNTS:
        import torch

        with torch.device("meta"):
            n = sum(p.numel() for p in model_spec.build(n_in, n_out).parameters())
        if len(_COUNTS) >= 1024:  # bounded: a sweep over widths must not grow it forever
            _COUNTS.clear()
        _COUNTS[key] = n
    return _COUNTS[key]


_COUNTS: dict = {}
