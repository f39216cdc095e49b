"""Speed and memory benchmarks of the workbench (issues: dashboard targets, speed and scale).

Prints a markdown table and writes JSON (``--out``). Every figure is measured here, on
this machine; nothing is asserted (timed unit tests are flaky, a table is not).

  python benchmarks/bench.py                 # full run (a few minutes on 2 CPU cores)
  python benchmarks/bench.py --quick         # tiny sizes: checks the script itself
  python benchmarks/bench.py --device cuda   # the same on a GPU

Sections: (A) the dashboard's default comparison fresh and re-opened from the store;
(B) 16 batched replicas vs one run vs 16 sequential runs; (C) per-step cost of dynamic
schemes vs uniform; (D) one run vs the hand-written DataLoader loop; (E) cost and peak
memory against N; (F) achieved FLOP/s of the training step vs measured matmul throughput;
(G) one run, 16 replicas via ``wb.compare`` and adult (batch 64) against their bare loops
(``floors.bare_loop``: index, forward, cross-entropy, weighted mean, backward, fused Adam).

  python benchmarks/bench.py --sections G    # only some sections
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

import workbench as wb

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script or loaded by path
from floors import bare_loop, eval_floor_s, step_floor, timed  # noqa: E402
from render import render  # noqa: E402

DIGITS = wb.RunConfig(dataset="digits", imbalance=[{"kind": "longtail", "ratio": 50}],
                      epochs=20)


class LoopTimer(wb.Callback):
    """Time of the step loop only (first to last step), without set-up and summary.

    Replicas trained together each get the events: the loop starts at the first
    ``on_start`` and a step counts once whatever the number of replicas."""

    def __init__(self, clock=time.perf_counter):
        self.clock, self.start, self.steps = clock, None, 0

    def on_start(self, total_steps, config):
        if self.start is None:
            self.start = self.clock()

    def on_step(self, rec):
        self.steps = max(self.steps, rec.step + 1)
        self.end = self.clock()

    def per_step(self) -> float:
        return (self.end - self.start) / max(self.steps, 1)


def dashboard(quick: bool) -> dict:
    from workbench.figures import metric_dots, summary_wide

    cfg = DIGITS.replace(epochs=3 if quick else 20)
    schemes = ["uniform", "inverse_frequency", "linupper"]
    with tempfile.TemporaryDirectory() as root:
        store = wb.RunStore(root)
        fresh, cmp = timed(lambda: wb.compare(cfg, schemes, [0, 1, 2], store=store))
        keys = [r.key for r in cmp.runs]

        def reopen():
            again = wb.RunStore(root).comparison(keys)
            summary_wide(again.table), metric_dots(again.table)

        reopen_s, _ = timed(reopen)
    # the same nine runs without a store, batched as the dashboard does and one by one
    no_store, _ = timed(lambda: wb.compare(cfg, schemes, [0, 1, 2]))
    one_by_one, _ = timed(lambda: wb.compare(cfg, schemes, [0, 1, 2], batched=False))
    return {"default_comparison_fresh_s": fresh, "reopen_stored_s": reopen_s,
            "execution": cmp.runs[0].info.get("execution"),
            "batched_no_store_s": no_store, "one_by_one_no_store_s": one_by_one}


def batched(cfg: wb.RunConfig, R: int) -> dict:
    cfgs = [cfg.replace(seed=s) for s in range(R)]
    wb.train(cfg.replace(epochs=1))  # warm-up
    one, _ = timed(lambda: wb.train(cfgs[0]), 3)
    together, runs = timed(lambda: wb.train_many(cfgs), 3)
    seq, _ = timed(lambda: [wb.train(c) for c in cfgs])
    steps = runs[0].info["steps"]
    per_replica = {r: step_floor(cfg, r) / r for r in (1, 2, 4, 8, R)}
    floor = steps * per_replica[R] * R  # the R replicas' forward/backward/Adam alone
    n_evals = runs[0].history.query("split != 'train_batch'")["epoch"].nunique()
    eval_floor = n_evals * eval_floor_s(cfg, R)  # + forward passes of every evaluation
    return {"replicas": R, "one_run_s": one, "batched_s": together, "sequential_s": seq,
            "batched_over_one": together / one, "sequential_over_one": seq / one,
            "steps": steps, "step_floor_per_replica_ms": {r: 1e3 * v for r, v in
                                                          per_replica.items()},
            "floor_over_one": floor / one, "evaluations": n_evals,
            "floor_with_eval_over_one": (floor + eval_floor) / one}


def dynamic_overhead(cfg: wb.RunConfig, repeats: int = 7, stat=None) -> dict:
    """Per-step loop time over ``repeats`` rounds (schemes interleaved, warmed up), the
    median (or ``stat``, e.g. ``min``) of the rounds; this process's CPU time on a CPU (see
    ``floor_ratios``)."""
    import statistics

    stat = stat or statistics.median
    schemes = ("uniform", "linupper", "group_dro")
    times: dict[str, list[float]] = {s: [] for s in schemes}
    wb.train(cfg.replace(epochs=1))  # warm-up
    for _ in range(repeats):
        for scheme in schemes:
            timer = LoopTimer(time.process_time if cfg.device == "cpu" else time.perf_counter)
            wb.train(cfg.replace(scheme=scheme, eval_every=cfg.epochs), callbacks=[timer])
            times[scheme].append(timer.per_step())
    out = {s: stat(v) for s, v in times.items()}
    out["linupper_over_uniform"] = out["linupper"] / out["uniform"]
    out["group_dro_over_uniform"] = out["group_dro"] / out["uniform"]
    return out


def hand_loop(cfg: wb.RunConfig) -> dict:
    """The loop a user writes: TensorDataset + DataLoader(shuffle) + nn.Module + weights."""
    from torch.utils.data import DataLoader, TensorDataset

    from workbench.data import load_prepared

    _, data = load_prepared(cfg.dataset, cfg.dataset_params, cfg.imbalance, cfg.data_seed)
    X = torch.tensor(data.train.X)
    y = torch.tensor(data.train.y)
    counts = torch.bincount(y, minlength=data.n_classes).float()
    class_w = counts.sum() / (data.n_classes * counts.clamp_min(1))

    dev = torch.device(cfg.device)  # the data stay on the CPU, batches move, as users write
    w_dev = class_w.to(dev)

    def run():
        torch.manual_seed(0)
        model = wb.MODELS.create("mlp").build(X.shape[1], data.n_classes).to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        loader = DataLoader(TensorDataset(X, y), batch_size=cfg.batch_size, shuffle=True)
        loss_fn = nn.CrossEntropyLoss(reduction="none")
        for _ in range(cfg.epochs):
            for xb, yb in loader:
                xb, yb = xb.to(dev), yb.to(dev)
                loss = (w_dev[yb] * loss_fn(model(xb), yb)).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()

    hand, _ = timed(run, 3)
    ours, run_ = timed(lambda: wb.train(cfg.replace(scheme="inverse_frequency")), 3)
    lean, _ = timed(lambda: wb.train(cfg.replace(scheme="inverse_frequency",
                                                 eval_every=cfg.epochs)), 3)
    floor = run_.info["steps"] * step_floor(cfg, 1)
    return {"hand_loop_s": hand, "workbench_s": ours, "speedup": hand / ours,
            "workbench_eval_at_end_s": lean, "speedup_eval_at_end": hand / lean,
            "floor_s": floor, "max_speedup": hand / floor,
            "note": "workbench_s evaluates train/val/test every epoch and records every "
                    "step; floor_s is forward + backward + Adam alone for the same steps"}


def scaling(sizes: list[int], device: str) -> list[dict]:
    """Each N in a fresh process, so peak RSS belongs to that N alone."""
    rows = []
    for n in sizes:
        code = (
            "import json, time, torch, workbench as wb\n"
            "def hwm(): return int([l for l in open('/proc/self/status')\n"
            "                       if l.startswith('VmHWM')][0].split()[1]) / 1024\n"
            "base = hwm()\n"
            "torch.set_num_threads(torch.get_num_threads())\n"
            f"cfg = wb.RunConfig(dataset='gaussian', dataset_params={{'n_samples': {n}}}, "
            f"epochs=1, batch_size=1024, device='{device}')\n"
            "class T(wb.Callback):\n"
            "    def on_start(self, total, config): self.t0 = time.perf_counter()\n"
            "    def on_step(self, rec): self.t1 = time.perf_counter()\n"
            "timer = T(); t = time.perf_counter(); run = wb.train(cfg, callbacks=[timer])\n"
            "wall = time.perf_counter() - t; loop = timer.t1 - timer.t0\n"
            "rec_rows = len(run.history) + len(run.weights)\n"
            "print(json.dumps({'n': %d, 'wall_s': wall, 'loop_s': loop,\n"
            "  'steps': run.info['steps'],\n"
            "  'peak_rss_mb': hwm(), 'import_rss_mb': base,\n"
            "  'records_mb': (run.history.memory_usage(deep=True).sum()\n"
            "                 + run.weights.memory_usage(deep=True).sum()) / 2**20,\n"
            "  'data_mb': %d * 32 * 4 / 2**20, 'record_rows': rec_rows,\n"
            "  'tracked_rows': len(run.weights)}))\n" % (n, n))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row["us_per_sample"] = 1e6 * row["loop_s"] / (0.8 * n)  # training loop only
        rows.append(row)
    return rows


def flops(cfg: wb.RunConfig, device: str) -> dict:
    """Achieved FLOP/s of the MLP step vs torch.mm throughput at the same shapes."""
    _, data = wb.data.load_prepared(cfg.dataset, cfg.dataset_params, cfg.imbalance, 0)
    widths = [data.n_features, 128, 128, data.n_classes]
    B = cfg.batch_size
    step_flops = 6 * B * sum(a * b for a, b in zip(widths, widths[1:]))  # fwd 2x, bwd 4x
    per_step = []
    for _ in range(3):  # best of 3, like the matmuls
        timer = LoopTimer()
        wb.train(cfg.replace(eval_every=cfg.epochs), callbacks=[timer])
        per_step.append(timer.per_step())
    achieved = step_flops / min(per_step)
    mats = [(torch.randn(B, a, device=device), torch.randn(a, b, device=device))
            for a, b in zip(widths, widths[1:])]
    reps = 200

    def matmuls():
        for _ in range(reps):
            for x, w in mats:
                x @ w
        if device == "cuda":
            torch.cuda.synchronize()

    seconds, _ = timed(matmuls, 5)  # best of 5: the VM's throughput jitters
    mm = reps * sum(2 * B * a * b for a, b in zip(widths, widths[1:])) / seconds
    return {"step_flops": step_flops, "achieved_gflops": achieved / 1e9,
            "matmul_gflops": mm / 1e9, "fraction": achieved / mm}


def floor_ratios(quick: bool, device: str, repeats: int = 5) -> dict:
    """Each workbench path over its bare loop with the same shapes, evaluation at the end.

    ``one_run``: ``wb.train`` (whole call: set-up, loop, recording, the one evaluation,
    summary and frames) over the bare loop of the same steps, and its training loop alone
    (first to last step) per step; ``replicas``: R seeds through ``wb.compare``, the whole
    call and the loop, over the bare loop of R stacked replicas; ``adult``: the training
    loop per step over the bare loop's; ``dynamic``: linupper's and group_dro's training
    loop per step over uniform's (``dynamic_overhead``, best of ``2 * repeats + 1``
    interleaved rounds). Times are this process's CPU time
    (``time.process_time``; best of ``repeats`` rounds, each timing the run then its bare
    loop): on a machine shared with other jobs wall time mostly measures the wait for a
    core. On a GPU use wall time (CPU time misses it).
    """
    clock = time.process_time if device == "cpu" else time.perf_counter
    digits = DIGITS.replace(epochs=2 if quick else 20, device=device)
    digits = digits.replace(eval_every=digits.epochs)
    adult = wb.RunConfig(dataset="adult", batch_size=64, epochs=1, device=device)
    R = 4 if quick else 16
    wb.train(digits.replace(epochs=1, eval_every=1))  # warm-up

    def best(fn, cfg, replicas):
        """(best whole call, best loop per step, best floor, floor steps) over ``repeats``
        rounds, each one call of fn(timer) then one bare loop of ``cfg`` with ``replicas``:
        run and floor alternate, so both see the same load on a shared machine."""
        calls, steps, floors = [], [], []
        for _ in range(repeats):
            timer = LoopTimer(clock)
            t = clock()
            fn(timer)
            calls.append(clock() - t)
            steps.append(timer.per_step())
            floor, n = bare_loop(cfg, replicas, 1, clock)
            floors.append(floor)
        return min(calls), min(steps), min(floors), n

    one_s, one_step, floor_one, n_steps = best(lambda t: wb.train(digits, callbacks=[t]),
                                               digits, 1)
    many_s, many_step, floor_many, _ = best(
        lambda t: wb.compare(digits, ["uniform"], range(R), callbacks=[t]), digits, R)
    _, adult_step, floor_adult, adult_steps = best(lambda t: wb.train(adult, callbacks=[t]),
                                                   adult, 1)
    dyn = dynamic_overhead(digits, repeats=2 * repeats + 1, stat=min)
    return {"dynamic_uniform_step_ms": 1e3 * dyn["uniform"],
            "dynamic_linupper_over_uniform": dyn["linupper_over_uniform"],
            "dynamic_group_dro_over_uniform": dyn["group_dro_over_uniform"],
            "clock": clock.__name__, "steps": n_steps, "one_run_s": one_s,
            "one_run_floor_s": floor_one, "one_run_over_floor": one_s / floor_one,
            "one_loop_over_floor": one_step * n_steps / floor_one, "replicas": R,
            "replicas_s": many_s, "replicas_floor_s": floor_many,
            "replicas_over_floor": many_s / floor_many,
            "replicas_loop_over_floor": many_step * n_steps / floor_many,
            "adult_step_ms": 1e3 * adult_step,
            "adult_floor_step_ms": 1e3 * floor_adult / adult_steps,
            "adult_over_floor": adult_step * adult_steps / floor_adult}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, to check the script")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--out", default="benchmarks/results-{device}.json")
    p.add_argument("--sections", default="ABCDEFG", help="which sections to run, e.g. G")
    args = p.parse_args(argv)
    q, dev = args.quick, args.device
    big = wb.RunConfig(dataset="gaussian", dataset_params={"n_samples": 2_000 if q else 100_000},
                       epochs=1 if q else 2, batch_size=256, device=dev)
    small = DIGITS.replace(epochs=2 if q else 20, device=dev)
    R = 4 if q else 16
    res = {"machine": {"platform": platform.platform(), "threads": torch.get_num_threads(),
                       "torch": torch.__version__, "device": dev,
                       "gpu": torch.cuda.get_device_name() if dev == "cuda" else None}}
    todo = {
        "A_dashboard": ("A", lambda: dashboard(q)),
        "B_batched_digits": ("B", lambda: batched(small, R)),
        "B_batched_100k": ("B", lambda: batched(big, R)),
        "C_dynamic_digits": ("C", lambda: dynamic_overhead(small)),
        "C_dynamic_100k": ("C", lambda: dynamic_overhead(big)),
        "D_hand_loop_digits": ("D", lambda: hand_loop(small)),
        "D_hand_loop_100k": ("D", lambda: hand_loop(big)),
        "E_scaling": ("E", lambda: scaling([2_000, 10_000] if q else
                                           [10_000, 100_000, 1_000_000], dev)),
        "F_flops_100k": ("F", lambda: flops(big, dev)),
        "G_floors": ("G", lambda: floor_ratios(q, dev)),
    }
    for key, (section, measure) in todo.items():
        if section in args.sections.upper():
            res[key] = measure()
    path = args.out.format(device=dev)
    with open(path, "w") as fh:
        json.dump(res, fh, indent=2)
    print(render(res))
    return res


if __name__ == "__main__":
    main()
