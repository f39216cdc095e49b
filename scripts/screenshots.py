"""Screenshots of every dashboard view at 1400 and 1024 px, and a check of what a reader sees.

Why: a chart title cut at the figure's edge or a table whose columns scroll out of sight
passes every AppTest, and only shows in a browser at the widths people use (a laptop at
1400 px, a projector or a half screen at 1024 px). This script opens the app in headless
Chromium (Debian's ``/usr/bin/chromium``, never Playwright's download), waits for the
default comparison, opens every tab at each width, saves a full-page PNG per tab and width
into ``test-artifacts/`` and measures, in the page:

* exception boxes (``stException``),
* Plotly titles, subplot titles and axis titles that stick out of their figure or overlap
  the legend (text bounding boxes against the figure's and the legend's),
* data frames and tables whose columns do not fit (they scroll sideways: hidden columns;
  the Runs tab's listing of the whole store is a wide grid that scrolls by design),
* formulas wider than the page, control labels cut with an ellipsis,
* texts of one figure (titles, facet and axis titles, notes) running into each other.

``tests/test_screenshots.py`` runs it against a server it starts; by hand::

    WORKBENCH_STORE=/tmp/s WORKBENCH_APP_DEFAULT_EPOCHS=3 .venv/bin/streamlit run app.py &
    .venv/bin/python scripts/screenshots.py http://localhost:8501   # prints the problems

Exit status 1 when a problem was found (each is printed as one line), else 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update"]
WIDTHS = (1400, 1024)
TABS = ("Overview", "Weights", "Samples", "Groups", "Calibration", "Data", "What-if", "Runs",
        "Learn")
MIN_CHARTS = {"Overview": 1, "Weights": 5, "Samples": 2, "Groups": 1, "Calibration": 3,
              "Data": 1, "Learn": 3}  # tab -> Plotly charts it must draw
TABLES = ("Overview", "Calibration")  # tabs whose tables must be drawn before the shot
SCROLLING = ("Runs",)  # the run store's listing: a wide, sortable grid that scrolls sideways

# Runs in the page: every problem a reader would see, as {"kind", "what"} objects.
MEASURE = r"""
(panel) => {
  const out = [];
  const box = (e) => e.getBoundingClientRect();
  const label = (plot) => {
    const t = plot.querySelector('.gtitle');
    return t && t.textContent ? t.textContent.slice(0, 60) : '(untitled chart)';
  };
  for (const e of panel.querySelectorAll('[data-testid="stException"]'))
    out.push({kind: 'exception', what: e.innerText.slice(0, 200)});
  for (const plot of panel.querySelectorAll('.js-plotly-plot')) {
    const svg = plot.querySelector('.main-svg');
    if (!svg) continue;
    const fig = box(svg);
    if (fig.width === 0) continue;
    const legend = plot.querySelector('.legend');
    const lg = legend ? box(legend) : null;
    const texts = plot.querySelectorAll('.gtitle, .annotation-text, .xtitle, .ytitle, '
                                        + '[class^="g-x"][class$="title"] text, '
                                        + '[class^="g-y"][class$="title"] text');
    for (const t of texts) {
      const b = box(t);
      if (!t.textContent || b.width === 0) continue;
      const name = `"${t.textContent.slice(0, 50)}" in "${label(plot)}"`;
      if (b.left < fig.left - 1 || b.right > fig.right + 1)
        out.push({kind: 'clipped', what: `${name}: text ${Math.round(b.left - fig.left)}..`
                  + `${Math.round(b.right - fig.left)} px, figure ${Math.round(fig.width)} px`});
      if (lg && lg.width > 0 && t.classList.contains('gtitle') && b.right > lg.left + 1
          && b.left < lg.right && b.bottom > lg.top && b.top < lg.bottom)
        out.push({kind: 'overlap', what: `${name} runs under the legend`});
    }
  }
  const wide = (el, name) => {
    if (el && el.scrollWidth > el.clientWidth + 2)
      out.push({kind: 'table', what: `${name} needs ${el.scrollWidth} px, shows `
                + `${el.clientWidth} px: columns hidden`});
  };
  for (const grid of panel.querySelectorAll('[data-testid="stDataFrame"]'))
    wide(grid.querySelector('.dvn-scroller'), 'a data frame');
  for (const table of panel.querySelectorAll('[data-testid="stTable"]'))
    for (const el of [table, ...table.querySelectorAll('div')]) wide(el, 'a table');
  for (const f of panel.querySelectorAll('.katex-display'))
    if (f.getBoundingClientRect().width > 0 && f.scrollWidth > f.clientWidth + 2)
      out.push({kind: 'clipped', what: `a formula needs ${f.scrollWidth} px, shows `
                + `${f.clientWidth} px: "${f.textContent.slice(0, 40)}"`});
  for (const l of panel.querySelectorAll('[data-testid="stWidgetLabel"] *'))
    if (l.getBoundingClientRect().width > 0 && l.scrollWidth > l.clientWidth + 1)
      out.push({kind: 'clipped', what: `a control's label is cut: "${l.textContent}"`});
  // titles, facet titles, axis titles and notes of one figure running into each other
  for (const plot of panel.querySelectorAll('.js-plotly-plot')) {
    const texts = [...plot.querySelectorAll('.annotation-text, .xtitle, .ytitle, '
                                            + '[class^="g-x"][class$="title"] text, .gtitle')]
      .map(t => [t, box(t)]).filter(([t, b]) => b.width > 0 && t.textContent);
    for (let i = 0; i < texts.length; i++)
      for (let j = i + 1; j < texts.length; j++) {
        const [a, b] = [texts[i][1], texts[j][1]];
        if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1
            && b.top < a.bottom - 1)
          out.push({kind: 'overlap', what: `"${texts[i][0].textContent.slice(0, 40)}" and `
                    + `"${texts[j][0].textContent.slice(0, 40)}" overlap in "${label(plot)}"`});
      }
  }
  return out;
}
"""


def one_set_of_tabs(page, n: int) -> None:
    """Wait until the page shows one set of the n view tabs: for about a second after a
    comparison finishes, the live fragment's views and the rerun's are both on the page."""
    page.wait_for_function(f"document.querySelectorAll('[role=tab]').length === {n}")


def _panel(page):
    return page.locator('[data-testid="stTabs"] [role="tabpanel"]:visible').first


def _settle(page, tab: str) -> None:
    """Wait until the tab's heading, charts and tables are drawn."""
    panel = _panel(page)
    heading = tab if tab != "Runs" else "Runs in"
    panel.get_by_role("heading").filter(has_text=heading).first.wait_for()
    n = MIN_CHARTS.get(tab, 0)
    if n:
        panel.locator('[data-testid="stPlotlyChart"] .js-plotly-plot .main-svg')\
            .nth(n - 1).wait_for()
    if tab in TABLES + ("Runs",):
        grid = panel.locator('[data-testid="stDataFrame"], [data-testid="stTable"]').first
        grid.wait_for()
        grid.locator('[role="row"], tr').nth(2).wait_for(state="attached")
    page.wait_for_timeout(900)  # Plotly's transitions and Streamlit's last rerender


def _shoot(page, path: Path, width: int) -> None:
    """A full-page PNG: Streamlit scrolls inside its main container, so the viewport is
    first made as tall as the content."""
    height = page.evaluate("Math.max(...[...document.querySelectorAll("
                           "'[data-testid=\"stMain\"], [data-testid=\"stMainBlockContainer\"]'"
                           ")].map(e => e.scrollHeight))")
    page.set_viewport_size({"width": width, "height": int(min(max(height + 120, 900), 9000))})
    page.wait_for_timeout(700)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": width, "height": 900})


def capture(url: str, out: Path = ROOT / "test-artifacts", widths=WIDTHS, tabs=TABS,
            ready: str = "runs ready", timeout_ms: int = 300_000,
            sweep: bool = True) -> list[dict]:
    """Screenshot every tab at every width into ``out``; return the problems found.

    Each problem is ``{"width", "tab", "kind", "what"}``, kind one of exception, clipped,
    overlap, table. ``ready`` is a text the page shows once the comparison is loaded.
    ``sweep``: press What-if's "Run sweep" (its default values, the sidebar's schemes and
    seeds) so that its chart is checked too; the runs land in the app's store, so the
    second width loads them.
    """
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    problems: list[dict] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for width in widths:
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.set_default_timeout(timeout_ms)
                page.goto(url)
                page.get_by_text(ready).first.wait_for()
                one_set_of_tabs(page, len(TABS))
                for i, tab in enumerate(tabs):
                    page.get_by_role("tab", name=tab).click()
                    _settle(page, tab)
                    if tab == "What-if" and sweep:
                        _panel(page).get_by_role("button", name="Run sweep").click()
                        _panel(page).locator('[data-testid="stPlotlyChart"] .main-svg')\
                            .first.wait_for()
                        page.wait_for_timeout(900)
                    _shoot(page, out / f"{width}-{i + 1}-{tab.lower()}.png", width)
                    page.wait_for_timeout(400)
                    found = page.evaluate(MEASURE, _panel(page).element_handle())
                    problems += [{"width": width, "tab": tab, **f} for f in found
                                 if not (tab in SCROLLING and f["kind"] == "table")]
                page.close()
        finally:
            browser.close()
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url", help="the running dashboard, e.g. http://localhost:8501")
    ap.add_argument("--out", default=str(ROOT / "test-artifacts"), help="folder for the PNGs")
    ap.add_argument("--widths", default=",".join(map(str, WIDTHS)), help="e.g. 1400,1024")
    ap.add_argument("--tabs", default=",".join(TABS), help="comma-separated tab names")
    ap.add_argument("--json", action="store_true", help="print the problems as JSON")
    ap.add_argument("--no-sweep", action="store_true",
                    help="do not press What-if's Run sweep (it trains values x schemes x seeds)")
    args = ap.parse_args(argv)
    problems = capture(args.url, Path(args.out), [int(w) for w in args.widths.split(",")],
                       [t for t in args.tabs.split(",") if t], sweep=not args.no_sweep)
    if args.json:
        print(json.dumps(problems, indent=1))
    else:
        for p in problems:
            print(f"{p['width']} px · {p['tab']} · {p['kind']}: {p['what']}")
        print(f"{len(problems)} problems; screenshots in {args.out}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
