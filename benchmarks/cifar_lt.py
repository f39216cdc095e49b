"""CIFAR-10-LT with ResNet-32: the published recipe, images per second, memory.

Sections (``--sections``, default all three):

- ``recipe``: the long-tail recipe of Cao et al. (NeurIPS 2019; used by Menon et al., ICLR
  2021): ResNet-32, CIFAR-10-LT at ratio 100, 200 epochs, batch 128, SGD with momentum
  0.9, lr 0.1, weight decay 2e-4, 5 epochs of linear warm-up, lr x0.01 at epochs 160 and
  180; schemes uniform, inverse_frequency, drw (from epoch 160, beta 0.9999) and
  logit_adjustment (tau 1); our test top-1 accuracy beside the published numbers. A
  shorter ``--epochs`` scales the warm-up, the milestones and DRW's switch with it. The
  real files come from ``python -m workbench data fetch cifar10``; ``--synthetic`` writes
  a CIFAR-shaped stand-in (class colour + noise: its accuracies say nothing about CIFAR).
- ``speed``: images per second of the training loop of ``wb.train`` for ``cnn`` and
  ``resnet32`` against a bare loop with the same shapes (index the uint8 images, crop and
  flip, forward, cross-entropy, backward, SGD step, nothing else).
- ``memory``: a CIFAR-10-sized training split (49,500 images) in the training context:
  bytes of its image tensor (uint8) against float32, and the process's peak RSS.

  python benchmarks/cifar_lt.py                              # the recipe on real files
  python benchmarks/cifar_lt.py --budget short --synthetic   # a few minutes on a CPU
  python benchmarks/cifar_lt.py --sections speed,memory
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's workbench
import workbench as wb  # noqa: E402
from workbench.data.cifar_files import write_files  # noqa: E402

SCHEMES = {"uniform": {}, "inverse_frequency": {}, "drw": {"start_epoch": 160},
           "logit_adjustment": {"tau": 1.0}}
# REFERENCE.md section 8 (CIFAR-10-LT, ratio 100, ResNet-32, top-1 %); "-": none quoted there
PUBLISHED = {"uniform": "71.36 (Menon et al. 2021); 70.36 (Cao et al. 2019)",
             "inverse_frequency": "-", "drw": "-",
             "logit_adjustment": "77.89 (Menon et al. 2021, logit-adjusted loss)"}


def synthetic(root: Path, per_class: int, per_class_test: int, seed: int = 0) -> Path:
    """A CIFAR-10-shaped folder: each class a colour plus uniform noise, uint8."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(40, 216, (10, 3, 1, 1)).astype(np.int16)

    def make(n):
        y = np.repeat(np.arange(10), n)
        x = colours[y] + rng.integers(-40, 41, (len(y), 3, 32, 32), dtype=np.int16)
        return x.astype(np.uint8), y

    x, y = make(per_class)
    xt, yt = make(per_class_test)
    return write_files(root, "cifar10", x, y, xt, yt)


def scaled(epoch: int, epochs: int) -> int:
    """Epoch ``epoch`` of the 200-epoch recipe in a run of ``epochs`` (1..epochs - 1)."""
    return min(max(1, round(epoch * epochs / 200)), max(epochs - 1, 1))


def recipe(epochs: int, model: str, root: str, device: str, val_per_class: int = 50
           ) -> wb.RunConfig:
    """The published recipe, its epochs-dependent parts scaled to ``epochs``."""
    at = [scaled(e, epochs) for e in (160, 180)]
    data = {"root": root, "ratio": 100, "val_per_class": val_per_class}
    return wb.RunConfig(dataset="cifar10_lt", dataset_params=data,
                        model=model, epochs=epochs, batch_size=128, optimizer="sgd", lr=0.1,
                        momentum=0.9, weight_decay=2e-4, warmup_epochs=5 * epochs / 200,
                        lr_schedule="step", lr_milestones=sorted(set(at)), lr_gamma=0.01,
                        eval_every=max(1, epochs // 10), device=device, track=0)


def run_recipe(args, root: str) -> list[dict]:
    val = min(50, args.synthetic_per_class // 4) if args.synthetic else 50  # 50: the default
    base = recipe(args.epochs, args.model, root, args.device, val)
    rows = []
    for name, params in SCHEMES.items():
        if name == "drw":
            params = {"start_epoch": scaled(160, args.epochs)}
        t = time.perf_counter()
        run = wb.train(base.replace(scheme=name, scheme_params=params))
        h = run.history
        last = h[(h.split == "test") & (h.level == "group") & (h.metric == "accuracy")]
        last = last[last.step == last.step.max()]
        rows.append({"scheme": run.label, "test top-1 %": round(100 * run.summary["accuracy"], 2),
                     **{f"{g} %": round(100 * v, 2) for g, v in zip(last.group, last.value)},
                     "published %": PUBLISHED[name], "minutes": round((time.perf_counter() - t)
                                                                      / 60, 2)})
        print(rows[-1], flush=True)
    return rows


def bare_images_per_s(cfg: wb.RunConfig, steps: int) -> float:
    """Images/s of the bare loop: index, crop + flip, forward, CE, backward, SGD step."""
    from workbench.context import TrainingContext, make_optimizer
    from workbench.data.images import crop_flip

    ctx = TrainingContext.build(cfg)
    tr, B = ctx.splits["train"], cfg.batch_size
    torch.manual_seed(cfg.seed)
    model = ctx.build_model()
    opt = make_optimizer(cfg, list(model.parameters()))
    gen = torch.Generator().manual_seed(0)
    n = len(tr)
    spe = n // B  # the speed section's training split is a multiple of B
    t = time.process_time()
    for s in range(steps):
        if s % spe == 0:
            order = torch.randperm(n, generator=gen)
        idx = order[(s % spe) * B:(s % spe + 1) * B]
        out = model(crop_flip(tr.X[idx], gen))
        loss = nn.functional.cross_entropy(out, tr.y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps * B / (time.process_time() - t)


class Clock(wb.Callback):
    """CPU time of the training loop alone: first to last step."""

    def on_step(self, rec):
        now = time.process_time()
        self.first = getattr(self, "first", now)
        self.last, self.steps = now, rec.step + 1


def speed(root: str, rounds: int) -> list[dict]:
    rows = []
    for model in ("cnn", "resnet32"):
        cfg = wb.RunConfig(dataset="cifar10_lt", dataset_params={"root": root, "ratio": 1,
                                                                  "val_per_class": 2},
                           model=model, epochs=2, eval_every=2, batch_size=128,
                           optimizer="sgd", lr=0.05, device="cpu", track=0)
        engine, bare = [], []
        for _ in range(rounds):  # alternate, best of each: the machine is shared
            clock = Clock()
            wb.train(cfg, callbacks=[clock])
            engine.append((clock.steps - 1) * 128 / (clock.last - clock.first))
            bare.append(bare_images_per_s(cfg, clock.steps - 1))
        rows.append({"model": model, "engine images/s": round(max(engine)),
                     "bare loop images/s": round(max(bare)),
                     "engine time / bare time": round(max(bare) / max(engine), 2),
                     "steps": clock.steps - 1, "batch": 128})
        print(rows[-1], flush=True)
    return rows


MEMORY = """
import json, sys
import workbench as wb
from workbench.context import TrainingContext
def peak_mb():  # VmHWM: this process's peak resident set (reset by exec, unlike ru_maxrss)
    line = next(x for x in open("/proc/self/status") if x.startswith("VmHWM"))
    return int(line.split()[1]) / 1024
before = peak_mb()
cfg = wb.RunConfig(dataset="cifar10_lt", model="cnn", device="cpu",
                   dataset_params={"root": sys.argv[1], "ratio": 1})
ctx = TrainingContext.build(cfg)
X = ctx.splits["train"].X
after = peak_mb()
print(json.dumps({"train images": len(X), "dtype": str(X.dtype),
                  "train tensor MB": round(X.nbytes / 1e6, 1),
                  "as float32 MB": round(X.numel() * 4 / 1e6, 1),
                  "all splits MB": round(sum(s.X.nbytes for s in ctx.splits.values()) / 1e6, 1),
                  "peak RSS after import MB": round(before),
                  "peak RSS MB": round(after)}))
"""


def memory(tmp: Path) -> dict:
    folder = synthetic(tmp / "full", 5000, 1000)
    p = subprocess.run([sys.executable, "-c", MEMORY, str(folder)], capture_output=True,
                       text=True, check=True)
    row = json.loads(p.stdout)
    print(row, flush=True)
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sections", default="recipe,speed,memory")
    p.add_argument("--budget", choices=("full", "short"), default="full",
                   help="full: the recipe's 200 epochs; short: 3 epochs, for a CPU")
    p.add_argument("--epochs", type=int, help="epochs of the recipe (overrides --budget)")
    p.add_argument("--model", default="resnet32", choices=("resnet32", "cnn"))
    p.add_argument("--root", default="", help="CIFAR-10 files (default: the data set's)")
    p.add_argument("--synthetic", action="store_true",
                   help="the recipe on a CIFAR-shaped synthetic stand-in, not on CIFAR")
    p.add_argument("--synthetic-per-class", type=int, default=1000,
                   help="training images per class of the stand-in (CIFAR: 5000)")
    p.add_argument("--device", default="auto")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", help="write the results as JSON")
    args = p.parse_args(argv)
    args.epochs = args.epochs or (200 if args.budget == "full" else 3)
    sections = args.sections.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="cifar-lt-bench-"))
    results = {"machine": f"{torch.get_num_threads()} torch threads, torch {torch.__version__}"}
    if "recipe" in sections:
        root = args.root
        if args.synthetic:
            root = str(synthetic(tmp / "recipe", args.synthetic_per_class,
                                 max(10, args.synthetic_per_class // 5)))
        try:
            wb.DATASETS.create("cifar10_lt", root=root).preflight()
        except ValueError as err:
            print(f"error: {err} (or pass --synthetic for a stand-in)", file=sys.stderr)
            return 2
        results["recipe"] = {"epochs": args.epochs, "model": args.model,
                             "data": "synthetic stand-in" if args.synthetic else "CIFAR-10",
                             "rows": run_recipe(args, root)}
    if "speed" in sections:
        # 128 images a class, 2 of them for val: 1,280 training images, 10 full batches
        results["speed"] = speed(str(synthetic(tmp / "speed", 130, 10)), args.rounds)
    if "memory" in sections:
        results["memory"] = memory(tmp)
    results["peak RSS MB (this process)"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
