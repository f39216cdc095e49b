"""Your own data and model from Python: ``train`` and ``compare`` with ``data=`` and ``model=``.

Why: arrays in a notebook and an ``nn.Module`` of one's own should go through the same
engine, run store and figures as the built-in data sets and models, without a registry
class. ``own_config(cfg, data=..., model=...)`` rewrites the config to name them by content
(``dataset="arrays"``, ``model="module"``, each with a content ``key`` and a ``title``), so
the config stays plain JSON, the store key changes when the arrays or the module change,
and a stored run loads in any process. ``train`` and ``compare`` here are the engine's and
``workbench.compare``'s with those two keywords added; ``own_config`` serves every other
entry point (``RunStore.train``, ``sweep``).

What the keys hash: ``workbench.data.arrays`` (arrays: dtype, shape and bytes of X, y,
groups, split; task and names) and ``module_key`` (the module: see its docstring).

Example:
    >>> import numpy as np, workbench as wb
    >>> from torch import nn
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 4)).astype(np.float32)
    >>> data = wb.ArrayData(X, (X[:, 0] > 0).astype(int), groups=X[:, 1] > 1, name="toy")
    >>> def net(n_in, n_out):
    ...     return nn.Sequential(nn.Linear(n_in, 8), nn.Tanh(), nn.Linear(8, n_out))
    >>> run = wb.train(wb.RunConfig(epochs=2, batch_size=32), data=data, model=net)
    >>> run.status, run.config.dataset, run.config.model, run.config.model_params["title"]
    ('done', 'arrays', 'module', 'workbench.own.net')
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from . import engine
from .compare import Comparison
from .compare import compare as _compare
from .config import RunConfig
from .data.arrays import ArrayData
from .data.prepare import data_facts
from .nets.module import FACTORIES, built
from .registry import check

__all__ = ["ArrayData", "compare", "module_key", "own_config", "train"]


def _qualname(factory: Callable) -> str:
    qual = getattr(factory, "__qualname__", type(factory).__qualname__)
    return f"{getattr(factory, '__module__', None) or '?'}.{qual}".replace("<locals>.", "")


def _source(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):  # built in, defined in a REPL, or a C extension
        return "(no source)"


def module_key(factory: Callable, n_in: int, n_out: int) -> str:
    """Content key of a module factory at input/output sizes ``n_in``, ``n_out``.

    sha256 (first 16 hex digits) of: the factory's qualified name; the source of the
    factory and of the built module's class, where ``inspect`` finds it ("(no source)"
    otherwise, e.g. a class typed into a REPL: then the rest still tells architectures
    apart); ``repr`` of the module built with ``torch.manual_seed(0)`` (layers, sizes,
    activations); and the name, dtype, shape and bytes of each of its parameters and
    buffers (its initialisation). The caller's torch random state is left as it was.

    Example:
        >>> k1 = module_key(lambda i, o: nn.Linear(i, o), 4, 2)
        >>> k1 == module_key(lambda i, o: nn.Linear(i, o, bias=False), 4, 2)
        False
    """
    check(not isinstance(factory, nn.Module),
          f"model= takes a factory that builds a fresh module for each run (a class or "
          f"function of (n_in, n_out)), got a {type(factory).__name__} instance: pass e.g. "
          f"lambda n_in, n_out: {type(factory).__name__}(...)")
    check(callable(factory), f"model= takes a callable factory(n_in, n_out) -> nn.Module, "
                             f"got {type(factory).__name__}")
    title = _qualname(factory)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = built(factory, n_in, n_out, title)
    h = hashlib.sha256()
    for part in (title, _source(factory), _source(type(model)), repr(model)):
        h.update(part.encode() + b"\0")
    for name, t in model.state_dict().items():
        a = t.detach().cpu().contiguous().reshape(-1)
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(a.view(torch.uint8).numpy().tobytes() if a.numel() else b"")
    return h.hexdigest()[:16]


def own_config(config: RunConfig, data: ArrayData | None = None,
               model: Callable | None = None) -> RunConfig:
    """``config`` with ``data`` as ``dataset="arrays"`` and ``model`` as ``model="module"``
    (each registered in this process under its content key); unchanged when both are None.
    The model's key is computed at the data's input and output sizes."""
    if data is not None:
        check(isinstance(data, ArrayData), f"data= takes a wb.ArrayData(X, y, groups=...), got "
                                           f"{type(data).__name__}")
        config = config.replace(dataset="arrays", dataset_params=data.register())
    if model is not None:
        _, n_in, n_out = data_facts(config.dataset, config.dataset_params, config.imbalance,
                                    config.data_seed)
        key = module_key(model, n_in, n_out)
        FACTORIES[key] = model
        config = config.replace(model="module", model_params={"key": key,
                                                              "title": _qualname(model)})
    return config


def train(config: RunConfig, callbacks=(), progress: bool = False, *,
          data: ArrayData | None = None, model: Callable | None = None, store=None,
          force: bool = False):
    """``engine.train`` with your own ``data`` (``ArrayData``) and ``model`` (a factory
    ``(n_in, n_out) -> nn.Module``); with ``store`` (a ``RunStore``) a stored run is loaded
    instead of trained (unless ``force``) and a new one saved."""
    cfg = own_config(config, data, model)
    if store is not None:
        return store.train(cfg, force=force, callbacks=callbacks, progress=progress)
    return engine.train(cfg, callbacks, progress)


def compare(config: RunConfig, schemes: Iterable[Any] = ("uniform",),
            seeds: Iterable[int] = (0,), *, data: ArrayData | None = None,
            model: Callable | None = None, **kw) -> Comparison:
    """``workbench.compare.compare`` with your own ``data`` and ``model`` (as ``train``)."""
    return _compare(own_config(config, data, model), schemes, seeds, **kw)
