"""Every built-in data set's default comparison in the app: estimated and measured time.

Why: the app promises that each data set's default comparison (3 schemes x 3 seeds, the
budget the data set declares: ``wbui.budget.default_experiment``) finishes within 30 s
on two CPU cores, and that the sidebar's estimate ("about 40 s here") is close. This
trains each one exactly as the app does (``wbui.job.Job``: a fresh run store, one batch per
seed, the live-records callback) after asking the estimate, and prints the README's table.
Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/app_budgets.py [--out r.json] [NAME ...]
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/app_budgets.py --cifar-stand-in \
        cifar10_lt cifar100_lt

``--cifar-stand-in`` measures the CIFAR-LT rows without the CIFAR files (a machine without
internet): it writes stand-in files of the real size and format (``write_files``: the
"python version" pickles, 50,000 training and 10,000 test uint8 images, 5,000 / 1,000 per
class for CIFAR-10, 500 / 100 per fine label for CIFAR-100) with random pixels into a
temporary folder and points ``$WORKBENCH_DATA_DIR`` there, where the data sets look when
``root`` is empty. The time does not depend on the pixel values (the same counts, shapes and
steps); the accuracies do, so only the time is meaningful.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wbui.budget import default_budget, default_experiment  # noqa: E402
from wbui.estimate import estimate  # noqa: E402
from wbui.job import Job  # noqa: E402
from workbench import DATASETS  # noqa: E402
from workbench.data.cifar_files import SOURCES, write_files  # noqa: E402
from workbench.store import RunStore  # noqa: E402

STAND_IN = ("cifar10_lt", "cifar100_lt")  # the data sets that read the stand-in files


def write_stand_ins(root: str | os.PathLike, seed: int = 0) -> list[Path]:
    """CIFAR-10 and CIFAR-100 files of the real size and format with random pixels (labels
    shuffled as in the real files); returns their folders."""
    rng = np.random.default_rng(seed)
    folders = []
    for kind, (n_train, n_test) in {"cifar10": (5000, 1000), "cifar100": (500, 100)}.items():
        C = SOURCES[kind].n_classes
        y = rng.permutation(np.repeat(np.arange(C), n_train))
        yt = rng.permutation(np.repeat(np.arange(C), n_test))
        X = rng.integers(0, 256, (len(y), 3, 32, 32), dtype=np.uint8)
        Xt = rng.integers(0, 256, (len(yt), 3, 32, 32), dtype=np.uint8)
        folders.append(write_files(root, kind, X, y, Xt, yt))
    return folders


@contextlib.contextmanager
def data_dir(folder: str | None):
    """``$WORKBENCH_DATA_DIR`` set to ``folder`` inside the block (None: left as it is)."""
    old = os.environ.get("WORKBENCH_DATA_DIR")
    if folder is not None:
        os.environ["WORKBENCH_DATA_DIR"] = folder
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("WORKBENCH_DATA_DIR", None)
        else:
            os.environ["WORKBENCH_DATA_DIR"] = old


def measure(name: str) -> dict:
    exp = default_experiment(name)
    configs = exp.configs()
    est = estimate(configs)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        job = Job(configs, RunStore(tmp)).start()
        job.join()
        wall = time.perf_counter() - t0
    cfg = exp.config
    return {"dataset": name, "model": cfg.model, "epochs": cfg.epochs,
            "batch_size": cfg.batch_size, "budget": default_budget(name),
            "imbalance": cfg.imbalance, "runs": len(configs), "estimate_s": est.seconds,
            "measured_s": wall, "failure": job.failure}


def table(rows: list[dict]) -> str:
    lines = ["| data set | model | budget | estimate | measured |", "|---|---|---|---|---|"]
    for r in rows:
        extra = ", ".join(f"{k}={v}" for k, v in r["budget"].get("dataset_params", {}).items())
        budget = f"{r['epochs']} epochs, batch {r['batch_size']}" + (f", {extra}" if extra else "")
        lines.append(f"| {r['dataset']} | {r['model']} | {budget} | {r['estimate_s']:.0f} s | "
                     f"{r['measured_s']:.1f} s{' FAILED' if r['failure'] else ''} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="data sets (default: every built-in one)")
    ap.add_argument("--out", help="also write the rows as JSON here")
    ap.add_argument("--cifar-stand-in", action="store_true",
                    help="measure cifar10_lt / cifar100_lt on stand-in files of the real size "
                         "and format (random pixels) in a temporary $WORKBENCH_DATA_DIR")
    args = ap.parse_args(argv)
    os.environ.pop("WORKBENCH_APP_DEFAULT_EPOCHS", None)
    rows = []
    with tempfile.TemporaryDirectory(prefix="wb-cifar-stand-in-") as data:
        if args.cifar_stand_in:
            for folder in write_stand_ins(data):
                print(f"stand-in files of the real size and format: {folder}", flush=True)
        for name in args.names or DATASETS.names():
            stand_in = args.cifar_stand_in and name in STAND_IN
            with data_dir(data if stand_in else None):
                rows.append(measure(name))
            if stand_in:
                rows[-1]["note"] = "stand-in files of the real size and format (random pixels)"
            print(json.dumps(rows[-1]), flush=True)
    print(table(rows))
    if args.cifar_stand_in:
        print("cifar10_lt / cifar100_lt rows: measured on stand-in files of the real size and "
              "format (the CIFAR 'python version' pickles, random pixels)")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
