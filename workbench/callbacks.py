"""Training callbacks (minGPT style): progress bars, cancellation, custom hooks.

For every run, the engine calls ``on_start``, then ``on_step`` after each optimiser step,
``on_eval`` after each evaluation, and ``on_end`` with the finished run: the same sequence
whether the run trains alone (``wb.train``), as one of R replicas trained together
(``wb.compare``, ``wb.train_many``, the dashboard) or in a sweep. Replicas trained together
interleave their events (each event once per replica, in replica order): ``on_start``'s
and ``on_eval``'s ``config`` and ``StepRecord.config`` say which run an event belongs to.
A callback that sets ``stop_requested = True`` ends training after the current step (the
dashboard's Cancel button uses this); the runs are then marked ``cancelled``.

Example:
    >>> class Count(Callback):
    ...     def __init__(self):
    ...         self.n = 0
    ...     def on_step(self, rec):
    ...         self.n += 1
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class StepBlock:
    """One training step of all R replicas: (R, B) tensors, (R,) objectives, R states."""

    idx: torch.Tensor
    y: torch.Tensor
    g: torch.Tensor | None  # None: read from ``train_g`` when a callback asks
    losses: torch.Tensor
    weights: torch.Tensor
    objectives: torch.Tensor
    states: list
    train_g: torch.Tensor


class StepRecord:
    """What happened in one step of one run (tensors live on the engine's device, detached).

    ``step``, ``epoch``, ``total_steps`` and ``config`` (the run's RunConfig; None for the
    earlier stages of a scheme) are plain values; ``idx``, ``y``, ``g``, ``losses``,
    ``weights``, ``objective`` and ``state`` are read from the step's ``StepBlock`` when
    asked for, so a callback pays only for what it reads.
    """

    __slots__ = ("step", "epoch", "total_steps", "config", "_block", "_r")

    def __init__(self, *, step: int, epoch: int, total_steps: int, block: StepBlock,
                 r: int = 0, config: Any = None):
        self.step, self.epoch, self.total_steps, self.config = step, epoch, total_steps, config
        self._block, self._r = block, r

    @property
    def idx(self) -> torch.Tensor:
        return self._block.idx[self._r]

    @property
    def y(self) -> torch.Tensor:
        return self._block.y[self._r]

    @property
    def g(self) -> torch.Tensor:
        b = self._block
        return b.g[self._r] if b.g is not None else b.train_g[b.idx[self._r]]

    @property
    def losses(self) -> torch.Tensor:
        return self._block.losses[self._r]

    @property
    def weights(self) -> torch.Tensor:
        return self._block.weights[self._r]

    @property
    def objective(self) -> torch.Tensor:
        return self._block.objectives[self._r]

    @property
    def state(self) -> dict | None:
        """The scheme's state after this step's update."""
        return self._block.states[self._r]


def notify_eval(cb: Callback, step: int, epoch: int, rows: list[dict], config) -> None:
    """Call ``cb.on_eval``, passing ``config`` only to callbacks whose ``on_eval`` takes it:
    a callback written against the three-argument form ``on_eval(step, epoch, rows)`` keeps
    working.

    Example:
        >>> class Old(Callback):
        ...     def on_eval(self, step, epoch, rows):
        ...         self.seen = (step, epoch)
        >>> cb = Old(); notify_eval(cb, 10, 1, [], config=None); cb.seen
        (10, 1)
    """
    if _takes_config(type(cb).on_eval):
        cb.on_eval(step, epoch, rows, config)
    else:
        cb.on_eval(step, epoch, rows)


@functools.lru_cache(maxsize=256)
def _takes_config(method) -> bool:
    params = list(inspect.signature(method).parameters.values())[1:]  # after self
    return len(params) >= 4 or any(p.kind == p.VAR_POSITIONAL for p in params)


class Callback:
    stop_requested: bool = False

    def on_start(self, total_steps: int, config) -> None:  # noqa: D401
        pass

    def on_step(self, rec: StepRecord) -> None:
        pass

    def on_eval(self, step: int, epoch: int, rows: list[dict], config=None) -> None:
        pass

    def on_end(self, run) -> None:
        pass


class TqdmProgress(Callback):
    """A tqdm bar over steps (notebooks get the widget bar when ipywidgets is there)."""

    def __init__(self, desc: str = "training", leave: bool = False):
        self.desc, self.leave, self.bar = desc, leave, None

    def on_start(self, total_steps, config):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total_steps, desc=self.desc, leave=self.leave)

    def on_step(self, rec):
        self.bar.update(1)

    def on_end(self, run):
        if self.bar is not None:
            self.bar.close()


class FunctionProgress(Callback):
    """Calls ``fn(done_steps, total_steps)`` every ``every`` steps (e.g. a Streamlit bar).

    ``should_stop`` (optional) is polled at the same cadence; returning True cancels.
    """

    def __init__(self, fn: Callable[[int, int], None], every: int = 10,
                 should_stop: Callable[[], bool] | None = None):
        self.fn, self.every, self.should_stop = fn, max(1, every), should_stop

    def on_step(self, rec):
        done = rec.step + 1
        if done % self.every == 0 or done == rec.total_steps:
            self.fn(done, rec.total_steps)
            if self.should_stop is not None and self.should_stop():
                self.stop_requested = True
