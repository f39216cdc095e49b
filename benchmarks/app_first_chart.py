"""Time to the first chart, and tab-switch times, of the dashboard in headless Chromium.

Why in a browser: what a user waits for is the chart drawn on the page, which includes the
server's script run, the training (or store load) and the client's rendering; AppTest sees
only the first. Each measurement starts a fresh Streamlit server on a fresh, empty store
(``WORKBENCH_STORE`` in a temporary folder), so the default comparison really trains.

Measured:

* ``first_chart_s``: from ``page.goto`` to the first Plotly chart drawn (while the
  comparison is still training the live views already draw; target <= 10 s);
* ``all_runs_s``: until the note "9 runs ready" (the default comparison finished);
* ``tab_switch_s``: per tab, from the click to its heading and charts drawn, measured on the
  second visit (the first visit fills the views' caches; target < 1 s).

The server starts as ``scripts/run.sh`` starts it (``scripts/serve.py``: the imports and
torch's one-time set-up are paid before the port opens); ``--cold`` measures a bare
``streamlit run app.py`` instead, whose first page pays them. Chromium is Debian's
(``/usr/bin/chromium``), never Playwright's download. Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/app_first_chart.py [--cold] [--out r.json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-background-networking",
        "--disable-component-update"]
TABS = ["Overview", "Weights", "Samples", "Groups", "Calibration", "Data", "What-if", "Runs",
        "Learn"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(store: str, warm: bool = True) -> tuple[subprocess.Popen, str]:
    """A headless Streamlit server on a free port with its own store; waits for the port.
    ``warm``: started as ``scripts/run.sh`` does (``scripts/serve.py``: imports and
    torch's one-time set-up before serving), else a bare ``streamlit run app.py``."""
    port = _free_port()
    env = {**os.environ, "WORKBENCH_STORE": store}
    launch = ["scripts/serve.py"] if warm else ["-m", "streamlit", "run", "app.py"]
    proc = subprocess.Popen(
        [sys.executable, *launch, "--server.headless", "true", "--server.port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.monotonic() + 90
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.2)
    proc.kill()
    raise TimeoutError("streamlit did not start within 90 s")


def measure(url: str) -> dict:
    from playwright.sync_api import sync_playwright

    out: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(600_000)
        t0 = time.perf_counter()
        page.goto(url)
        page.locator(".js-plotly-plot .main-svg").first.wait_for()
        out["first_chart_s"] = time.perf_counter() - t0
        print(f"first chart after {out['first_chart_s']:.1f} s", file=sys.stderr, flush=True)
        page.get_by_text("9 runs ready").first.wait_for()
        out["all_runs_s"] = time.perf_counter() - t0
        print(f"all runs after {out['all_runs_s']:.1f} s", file=sys.stderr, flush=True)
        page.wait_for_timeout(1000)
        for tab in TABS:  # first visit: fills the caches
            _switch(page, tab)
        out["tab_switch_s"] = {tab: _switch(page, tab) for tab in TABS}
        browser.close()
    return out


def _switch(page, tab: str) -> float:
    """Seconds from a click on ``tab`` to its panel drawn and the app idle again."""
    t0 = time.perf_counter()
    page.wait_for_function(  # one tab bar (a rerun briefly shows the old one beside it)
        "document.querySelectorAll('[data-testid=\"stTabs\"]').length == 1")
    page.get_by_role("tab", name=tab).click()
    panel = page.locator('[data-testid="stTabs"] [role="tabpanel"]:visible').first
    panel.get_by_role("heading").first.wait_for()
    page.wait_for_function(  # the script run is over: no "running" indicator
        "!document.querySelector('[data-testid=\"stStatusWidget\"] button')")
    plots = panel.locator(".js-plotly-plot .main-svg")
    if plots.count():
        plots.first.wait_for()
    dt = time.perf_counter() - t0
    print(f"{tab}: {dt:.2f} s", file=sys.stderr, flush=True)
    return dt


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="also write the results as JSON here")
    ap.add_argument("--cold", action="store_true",
                    help="start a bare `streamlit run app.py` (imports paid by the first page)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(str(Path(tmp) / "store"), warm=not args.cold)
        try:
            res = measure(url)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    res["tab_switch_max_s"] = max(res["tab_switch_s"].values())
    res["server"] = "cold: streamlit run app.py" if args.cold else "warm: scripts/serve.py"
    print(json.dumps(res, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    main()
