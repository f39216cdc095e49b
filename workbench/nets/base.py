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
