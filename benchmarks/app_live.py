"""The live views while a comparison trains, in headless Chromium: how often they redraw,
and what drawing them costs the training, with training in a worker process or a thread.

Why: the app trains in a worker process (``wbui.worker``) rather than in a thread of the
Streamlit server, because in a thread the training and the script runs that redraw the
views share Python's lock. This measures both ways (``WORKBENCH_APP_TRAINING``) on the
default comparison with a longer budget (``--epochs``, default 150, so that it trains for
several seconds), the Weights tab open:

* ``training_s``: from opening the Weights tab until the progress box goes away (the
  comparison finished);
* ``progress_gap_s``: median time between two changes of the progress text (the fragment
  redraws every second; a busy server draws later);
* ``view_gaps_s``: times between two changes of the first chart of the open view.

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/app_live.py [--epochs 150] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_first_chart import ARGS, CHROMIUM, start_server  # noqa: E402

FIRST_CHART = """() => { const p = [...document.querySelectorAll(
  '[data-testid="stTabs"] [role="tabpanel"]')].find(e => e.offsetParent);
  const q = p && p.querySelector('.js-plotly-plot'); if (!q) return null;
  return (q.data || []).map(t => (t.x || t.y || []).length).join(','); }"""
PROGRESS = """() => { const e = document.querySelector('[data-testid="stProgress"]');
  return e ? e.innerText : null; }"""


def measure(where: str, epochs: int) -> dict:
    from playwright.sync_api import sync_playwright

    os.environ["WORKBENCH_APP_TRAINING"] = where
    os.environ["WORKBENCH_APP_DEFAULT_EPOCHS"] = str(epochs)
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(str(Path(tmp) / "store"))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(300_000)
                page.goto(url)
                page.locator(".st-key-live_box").wait_for()
                page.get_by_role("tab", name="Weights").first.click()
                t0 = time.perf_counter()
                seen = {"view": [], "progress": []}
                last = {"view": None, "progress": None}
                while page.locator(".st-key-live_box").count():
                    for what, js in (("view", FIRST_CHART), ("progress", PROGRESS)):
                        value = page.evaluate(js)
                        if value != last[what]:
                            seen[what].append(time.perf_counter() - t0)
                            last[what] = value
                    page.wait_for_timeout(100)
                training = time.perf_counter() - t0
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    def gaps(times):
        return [round(b - a, 2) for a, b in zip(times, times[1:])]

    return {"where": where, "epochs": epochs, "training_s": round(training, 1),
            "progress_gap_s": statistics.median(gaps(seen["progress"]) or [float("nan")]),
            "view_gaps_s": gaps(seen["view"])}


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=150)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)
    rows = [measure(where, args.epochs) for _ in range(args.repeats)
            for where in ("process", "thread")]
    for row in rows:
        print(json.dumps(row))
    return rows


if __name__ == "__main__":
    main()
