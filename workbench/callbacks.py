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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class StepRecord:
    """What happened in one step (tensors live on the engine's device, detached)."""

    step: int
    epoch: int
    total_steps: int
    idx: torch.Tensor
    y: torch.Tensor
    g: torch.Tensor
    losses: torch.Tensor
    weights: torch.Tensor
    objective: torch.Tensor
    state: dict | None = None  # the scheme's state after this step's update
    config: Any = None  # the run's RunConfig (None for the earlier stages of a scheme)


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
