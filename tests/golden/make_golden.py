"""Writes the golden numbers that ``tests/test_golden.py`` checks the engine against.

Every registered scheme trains once on one small config (one torch thread, CPU); its
final summary goes to ``summaries.json``, and the history and tracked-sample weight frames
of three schemes (one fixed, one per-batch, one group scheme) to CSV files. Regenerate
only when a change is *meant* to move the numbers, and say so in the commit:

    OMP_NUM_THREADS=1 python tests/golden/make_golden.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

import workbench as wb

HERE = Path(__file__).parent
FRAME_SCHEMES = ("inverse_frequency", "linupper", "group_dro")


def golden_config(scheme: str) -> wb.RunConfig:
    """Digits (parity groups), long tail 10, a small MLP, 3 epochs, evaluation every epoch."""
    return wb.RunConfig(dataset="digits", imbalance=[{"kind": "longtail", "ratio": 10}],
                        scheme=scheme, model="mlp", model_params={"hidden": [32]}, epochs=3,
                        batch_size=32, seed=0, eval_every=1, track=32)


def clean(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def main() -> None:
    torch.set_num_threads(1)
    summaries = {}
    for name in wb.SCHEMES.names():
        run = wb.train(golden_config(name))
        assert run.status == "done", (name, run.status, run.message)
        summaries[name] = {k: clean(float(v)) for k, v in sorted(run.summary.items())}
        if name in FRAME_SCHEMES:
            run.history.to_csv(HERE / f"{name}_history.csv", index=False, float_format="%.9g")
            run.weights.to_csv(HERE / f"{name}_weights.csv", index=False, float_format="%.9g")
    (HERE / "summaries.json").write_text(json.dumps(summaries, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(summaries)} summaries and {len(FRAME_SCHEMES)} x 2 frames to {HERE}")


if __name__ == "__main__":
    main()
