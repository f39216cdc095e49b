"""``module``: your own ``torch.nn.Module`` from Python (``wb.train(cfg, model=factory)``).

Why: a reweighting question is often about one's own architecture; registering a class
for it should not be the price of asking. ``factory(n_in, n_out) -> nn.Module`` is what
every registered model's ``build`` is (n_in = X.shape[1], or the sequence length for lm;
n_out = classes, 1 for regression, the vocabulary for lm); a class whose constructor takes
those two sizes is such a factory. The engine calls it once per run after seeding torch
with the run's seed, so runs are reproducible and seeds differ as for built-in models.

The config names the factory by a content key (``workbench.own.module_key``: its
qualified name, the source of the factory and of the module's class where Python has it,
``repr`` of the built module, and the dtype, shape and bytes of every parameter and
buffer of the module built with ``torch.manual_seed(0)``), so editing the architecture
or its initialisation gives new store keys. The factory lives in this process
(``FACTORIES``); a stored run loads anywhere.

Example:
    >>> from torch import nn
    >>> FACTORIES["abc"] = lambda n_in, n_out: nn.Linear(n_in, n_out)
    >>> Module(key="abc", title="linear").build(3, 2)
    Linear(in_features=3, out_features=2, bias=True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from ..params import Params, param
from ..registry import check
from .base import MODELS

FACTORIES: dict[str, Callable] = {}  # content key -> factory(n_in, n_out), this process


def built(factory: Callable, n_in: int, n_out: int, title: str) -> nn.Module:
    """``factory(n_in, n_out)``, checked to be an ``nn.Module``."""
    model = factory(n_in, n_out)
    check(isinstance(model, nn.Module), f"model factory {title}({n_in}, {n_out}) returned "
                                        f"type {type(model).__name__}, not a torch.nn.Module")
    return model


@MODELS.register("module")
@dataclass(frozen=True, kw_only=True)
class Module(Params):
    """Your own torch nn.Module, from Python: wb.train(cfg, model=factory).

    ``factory(n_in, n_out) -> nn.Module``; ``key`` is its content hash (set for you),
    ``title`` its name.

    Example:
        >>> Module().build(4, 2)
        Traceback (most recent call last):
        ...
        ValueError: model 'module' comes from Python: wb.train(cfg, model=factory) with \
factory(n_in, n_out) -> nn.Module (or wb.compare); it cannot be chosen by name
    """

    tasks: ClassVar[tuple[str, ...]] = ("classification", "regression", "lm")
    from_python: ClassVar[bool] = True  # a factory of a Python session: not offered in the app
    key: str = param("", help="Content key of the module factory (set by wb.train(cfg, "
                              "model=...)).")
    title: str = param("", help="The factory's qualified name (shown with the run).")

    def build(self, n_in: int, n_out: int) -> nn.Module:
        check(self.key != "", "model 'module' comes from Python: wb.train(cfg, model=factory) "
                              "with factory(n_in, n_out) -> nn.Module (or wb.compare); it "
                              "cannot be chosen by name")
        check(self.key in FACTORIES,
              f"model module {self.title!r} (key {self.key}) is not loaded in this process: "
              "pass model=<the factory> to wb.train or wb.compare again (a stored run of it "
              "loads without it: RunStore(...).get(cfg))")
        return built(FACTORIES[self.key], n_in, n_out, self.title)
