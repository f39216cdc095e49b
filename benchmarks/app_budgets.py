"""Every built-in data set's default comparison in the app: estimated and measured time.

Why: the app promises that each data set's default comparison (3 schemes x 3 seeds, the
budget the data set declares: ``wbui.budget.default_experiment``) finishes within 30 s
on two CPU cores, and that the sidebar's estimate ("about 40 s here") is close. This
trains each one exactly as the app does (``wbui.job.Job``: a fresh run store, one batch per
seed, the live-records callback) after asking the estimate, and prints the README's table.
Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/app_budgets.py [--out r.json] [NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wbui.budget import default_budget, default_experiment  # noqa: E402
from wbui.estimate import estimate  # noqa: E402
from wbui.job import Job  # noqa: E402
from workbench import DATASETS  # noqa: E402
from workbench.store import RunStore  # noqa: E402


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
    args = ap.parse_args(argv)
    os.environ.pop("WORKBENCH_APP_DEFAULT_EPOCHS", None)
    rows = []
    for name in args.names or DATASETS.names():
        rows.append(measure(name))
        print(json.dumps(rows[-1]), flush=True)
    print(table(rows))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
