"""One torch thread policy for every entry point: ``$WORKBENCH_TORCH_THREADS`` (default 1).

Why: float reductions (matrix products, sums) split their work by thread, so the same config
and seed trained with 1 thread and with 2 give different last digits, and after 30 epochs
different metrics (ece 0.104913 in the app, 1 thread, against 0.103471 from the CLI with
torch's default 2 threads on this 2-core machine). The run store's key does not hold the
thread count, so whichever trained first won. Every training therefore runs with the same
count, whatever started it (CLI, ``wb.train``, ``wb.compare``, the app, a sweep), and
``run.info["torch_threads"]`` records it. One thread is also the fastest here: the models
are tiny, and spinning threads contend on a busy machine (the app's default comparison took
3.2 s with 1 thread and 16 s with 2 under load).

``WORKBENCH_APP_TORCH_THREADS``, the app's older name, is read when the new one is unset.

Example:
    >>> import torch
    >>> with training_threads(1) as n:
    ...     n, torch.get_num_threads()
    (1, 1)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

ENV = "WORKBENCH_TORCH_THREADS"
OLD_ENV = "WORKBENCH_APP_TORCH_THREADS"


def torch_threads() -> int:
    """The intra-op thread count training uses: ``$WORKBENCH_TORCH_THREADS``, default 1."""
    name = ENV if os.environ.get(ENV) else OLD_ENV
    text = os.environ.get(name) or "1"
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"{name} must be a positive integer (torch threads for training), "
                         f"got {text!r}")
    return n


@contextmanager
def training_threads(n: int | None = None) -> Iterator[int]:
    """Run the body with ``n`` (default: ``torch_threads()``) torch threads, then restore."""
    import torch

    n = n or torch_threads()
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)
