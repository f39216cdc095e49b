"""The benchmark script runs end to end and writes every section (on tiny sizes).

Timings are not asserted (a shared CI machine jitters); what is checked is that each
section measured something finite and positive, that the floors are computed from the
same number of steps the runs took, and that the table names every section.
"""

import importlib.util
import json
import math
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path_factory.mktemp("bench") / "results.json"
    res = bench.main(["--quick", "--out", str(out)])
    return bench, res, json.loads(out.read_text())


def positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_every_section_is_written_with_finite_positive_timings(quick):
    _, res, written = quick
    assert written.keys() == res.keys()
    assert {"A_dashboard", "B_batched_digits", "B_batched_100k", "C_dynamic_digits",
            "C_dynamic_100k", "D_hand_loop_digits", "D_hand_loop_100k", "E_scaling",
            "F_flops_100k", "G_floors"} <= written.keys()
    assert all(positive(written["A_dashboard"][k]) for k in (
        "default_comparison_fresh_s", "reopen_stored_s", "batched_no_store_s",
        "one_by_one_no_store_s"))
    assert written["A_dashboard"]["execution"] == "batched (9 replicas)"
    for key in ("B_batched_digits", "B_batched_100k"):
        b = written[key]
        assert all(positive(b[k]) for k in ("one_run_s", "batched_s", "sequential_s",
                                            "floor_over_one", "floor_with_eval_over_one"))
        assert b["floor_with_eval_over_one"] > b["floor_over_one"] and b["evaluations"] >= 1
        assert b["steps"] > 0 and all(positive(v) for v in
                                      b["step_floor_per_replica_ms"].values())
    for key in ("C_dynamic_digits", "C_dynamic_100k"):
        assert all(positive(v) for v in written[key].values())
    for key in ("D_hand_loop_digits", "D_hand_loop_100k"):
        d = written[key]
        assert all(positive(d[k]) for k in ("hand_loop_s", "workbench_s", "floor_s",
                                            "max_speedup", "speedup_eval_at_end"))
    assert [e["n"] for e in written["E_scaling"]] == [2_000, 10_000]
    assert all(e["tracked_rows"] <= 256 for e in written["E_scaling"])
    f = written["F_flops_100k"]
    assert positive(f["achieved_gflops"]) and 0 < f["fraction"]
    g = written["G_floors"]
    assert g["replicas"] == 4 and g["steps"] > 0 and g["clock"] == "process_time"
    assert all(positive(g[k]) for k in ("one_run_over_floor", "one_loop_over_floor",
                                        "replicas_over_floor", "replicas_loop_over_floor",
                                        "adult_over_floor", "adult_floor_step_ms",
                                        "dynamic_uniform_step_ms",
                                        "dynamic_linupper_over_uniform",
                                        "dynamic_group_dro_over_uniform"))


def test_the_table_has_a_row_per_measurement(quick):
    bench, res, _ = quick
    table = bench.render(res)
    for name in ("batched_digits", "batched_100k", "dynamic_digits", "hand_loop_100k",
                 "E N=10,000", "F training step", "G one run", "G adult", "G dynamic"):
        assert name in table
    # header 2, A 2, B 2, C 2, D 2, E one per N (2 in --quick), F 1, G 4
    assert len(table.splitlines()) == 17
