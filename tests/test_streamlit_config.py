"""The dashboard's Streamlit settings: no file watcher (when a developer turns it on, it
skips the venv, the run store and data); no usage statistics; no Deploy button
(``.streamlit/config.toml``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_streamlit_reads_the_projects_settings():
    out = subprocess.run([sys.executable, "-m", "streamlit", "config", "show"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120).stdout
    settings = {}
    lines = [line for line in out.splitlines() if line and not line.startswith("#")]
    for i, line in enumerate(lines):
        if " = " in line:
            key, value = line.split(" = ", 1)
            if value == "[":  # a list spans the following lines up to "]"
                end = lines.index("]", i)
                value = " ".join(lines[i + 1:end])
            settings[key.strip()] = value
    assert settings["gatherUsageStats"] == "false"
    assert settings["toolbarMode"] == '"viewer"'
    assert settings["fileWatcherType"] == '"none"'
    for folder in (".venv", "runs", "data"):
        assert f'"{folder}"' in settings["folderWatchBlacklist"]
