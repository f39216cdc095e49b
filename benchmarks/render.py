"""The markdown table that ``bench.py`` prints and the README shows, from its results dict.

Kept apart from the measurements so the table's wording can change without touching them.

Example:
    >>> print(render({"F_flops_100k": {"achieved_gflops": 40.0, "fraction": 0.3,
    ...                                 "matmul_gflops": 133.0}}).splitlines()[-1])
    | F training step (100k, MLP) | 40.00 GFLOP/s = 30.0% of matmul 133.0 GFLOP/s |
"""

from __future__ import annotations


def render(res: dict) -> str:
    """One row per measurement; sections missing from ``res`` are left out."""
    lines = ["| measurement | value |", "|---|---|"]
    if "A_dashboard" in res:
        a = res["A_dashboard"]
        lines += [f"| A default comparison, 3 schemes x 3 seeds, fresh | "
                  f"{a['default_comparison_fresh_s']:.1f} s (without the store: "
                  f"{a['batched_no_store_s']:.1f} s batched, "
                  f"{a['one_by_one_no_store_s']:.1f} s one by one) |",
                  f"| A re-open stored comparison (+ table, figure) | "
                  f"{a['reopen_stored_s']:.2f} s |"]
    for k in (k for k in ("B_batched_digits", "B_batched_100k") if k in res):
        b = res[k]
        per = ", ".join(f"R={r}: {v:.2f}" for r, v in b["step_floor_per_replica_ms"].items())
        lines.append(f"| {k[2:]}: {b['replicas']} replicas batched / one run | "
                     f"{b['batched_over_one']:.2f}x (sequential {b['sequential_over_one']:.1f}x; "
                     f"one run {b['one_run_s']:.2f} s; floor {b['floor_over_one']:.1f}x from "
                     f"fwd+bwd+Adam alone, {b['floor_with_eval_over_one']:.1f}x with the "
                     f"{b['evaluations']} evaluations' forward passes; ms per replica-step "
                     f"{per}) |")
    for k in (k for k in ("C_dynamic_digits", "C_dynamic_100k") if k in res):
        c = res[k]
        lines.append(f"| {k[2:]}: per-step cost vs uniform | "
                     f"linupper {c['linupper_over_uniform']:.2f}x, "
                     f"group_dro {c['group_dro_over_uniform']:.2f}x |")
    for k in (k for k in ("D_hand_loop_digits", "D_hand_loop_100k") if k in res):
        d = res[k]
        lines.append(f"| {k[2:]}: hand-written DataLoader loop / workbench run | "
                     f"{d['speedup']:.1f}x ({d['hand_loop_s']:.2f} s vs "
                     f"{d['workbench_s']:.2f} s; evaluating at the end only "
                     f"{d['speedup_eval_at_end']:.1f}x; ceiling {d['max_speedup']:.1f}x: "
                     f"fwd+bwd+Adam alone take {d['floor_s']:.2f} s) |")
    for e in res.get("E_scaling", []):
        lines.append(f"| E N={e['n']:,}: 1 epoch | loop {e['loop_s']:.2f} s "
                     f"(run {e['wall_s']:.1f} s), "
                     f"{e['us_per_sample']:.1f} us/sample, peak RSS {e['peak_rss_mb']:.0f} MB "
                     f"(after import {e['import_rss_mb']:.0f} MB; data {e['data_mb']:.0f} MB; "
                     f"records {e['records_mb']:.1f} MB), "
                     f"tracked rows {e['tracked_rows']} |")
    if "F_flops_100k" in res:
        f = res["F_flops_100k"]
        lines.append(f"| F training step (100k, MLP) | {f['achieved_gflops']:.2f} GFLOP/s = "
                     f"{100 * f['fraction']:.1f}% of matmul {f['matmul_gflops']:.1f} GFLOP/s |")
    if "G_floors" in res:
        g = res["G_floors"]
        lines += [f"| G one run (digits, {g['steps']} steps, evaluation at the end) / its bare "
                  f"loop | {g['one_run_over_floor']:.2f}x whole call ({g['one_run_s']:.3f} s "
                  f"vs {g['one_run_floor_s']:.3f} s {g['clock']}); training loop "
                  f"{g['one_loop_over_floor']:.2f}x |",
                  f"| G {g['replicas']} seeds via wb.compare / bare loop of {g['replicas']} "
                  f"stacked replicas | {g['replicas_over_floor']:.2f}x whole call "
                  f"({g['replicas_s']:.2f} s vs {g['replicas_floor_s']:.2f} s); training loop "
                  f"{g['replicas_loop_over_floor']:.2f}x |",
                  f"| G adult (batch 64), training loop per step / bare loop | "
                  f"{g['adult_over_floor']:.2f}x ({g['adult_step_ms']:.2f} ms vs "
                  f"{g['adult_floor_step_ms']:.2f} ms) |"]
        if "dynamic_uniform_step_ms" in g:
            lines.append(f"| G dynamic schemes, training loop per step / uniform (digits, "
                         f"best of interleaved runs) | linupper "
                         f"{g['dynamic_linupper_over_uniform']:.2f}x, group_dro "
                         f"{g['dynamic_group_dro_over_uniform']:.2f}x (uniform "
                         f"{g['dynamic_uniform_step_ms']:.3f} ms) |")
    return "\n".join(lines)
