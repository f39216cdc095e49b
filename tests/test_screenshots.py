"""Every dashboard view at 1400 and 1024 px in Chromium: no exception box, nothing cut.

Why: clipped titles, tables with hidden columns and overlapping facet labels only show in
a real browser at real widths. ``scripts/screenshots.py`` opens every tab at both widths
(What-if after pressing Run sweep), saves the PNGs in ``test-artifacts/`` for a person to
look at, and measures the page; this test fails on any problem it reports. The server and
Chromium come from ``tests/test_browser.py`` (a missing Chromium skips locally, fails on
CI). The default comparison is trained at 3 epochs (``WORKBENCH_APP_DEFAULT_EPOCHS``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from test_browser import ARTIFACTS, chromium, server  # noqa: F401  (fixtures)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import screenshots  # noqa: E402


@pytest.mark.timeout(900)
def test_every_view_at_both_widths_is_readable(chromium, server):  # noqa: F811
    problems = screenshots.capture(server, ARTIFACTS)
    shots = sorted(p.name for p in ARTIFACTS.glob("1[04]*-*.png"))
    assert len([s for s in shots if s.startswith(("1400-", "1024-"))]) >= 2 * len(
        screenshots.TABS), shots
    assert problems == [], "\n".join(f"{p['width']} px · {p['tab']} · {p['kind']}: "
                                     f"{p['what']}" for p in problems)
