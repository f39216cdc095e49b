"""Low-level parts of the run store: code version, index schema, frames, atomic swaps.

``store.py`` drives the SQLite index; this module owns the table layout and what lies on
disk beside it, and every step here is chosen so that a writer killed at any instant
leaves nothing that a reader chokes on:

* A run is written into a fresh ``<root>/tmp/<key>-<uuid>/`` (no one reads there), every
  file is fsync'd and then the directory, and only then is it renamed into
  ``<root>/runs/<key>/``. A rename is atomic, so ``runs/<key>/`` is either the old complete
  directory or the new complete one. ``os.replace`` cannot replace a non-empty directory,
  so an existing one is first renamed aside into ``tmp/`` and removed afterwards.
* ``meta.json`` lists the frame files; ``read_run_dir`` checks every listed file exists and
  parses, raising ``BrokenEntry`` otherwise, so a damaged entry is reported, never half-read.
* Parquet keeps numeric and string dtypes. pandas reads a Python-object column back as
  ``str`` or a number dtype, and pyarrow cannot write a column that mixes types, so object
  columns are recorded in ``meta.json``: plain string columns are stored natively and turned
  back into object, any other object column is stored as JSON text per value and decoded.
* ``WORKBENCH_STORE_TEST_CRASH=<point>`` makes the writer ``os._exit(1)`` at that point
  (``after_files``, ``before_rename``, ``after_aside``, ``before_commit``): a test hook that
  lets the tests kill a writer exactly where it hurts most.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": pd.Series([1, "a", None], dtype=object)})
    >>> enc, spec = encode_frame(df)
    >>> spec
    {'object': ['x'], 'json': ['x']}
    >>> decode_frame(enc, spec).equals(df)
    True
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import socket
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# pandas' Parquet engine, a core dependency: imported here so that a missing install fails
# at import, not after training
import pyarrow  # noqa: F401

from .run import with_level

CRASH_ENV = "WORKBENCH_STORE_TEST_CRASH"
TMP_MAX_AGE_S = 3600.0
META = "meta.json"
FORMAT = 1


COLUMNS = ["key", "created", "updated", "status", "dataset", "scheme", "label", "seed", "model",
           "epochs", "imbalance", "config", "summary", "message", "runtime_s", "pid", "host",
           "code_version"]
SCHEMA = f"CREATE TABLE IF NOT EXISTS runs ({', '.join(COLUMNS)}, PRIMARY KEY (key))"
# a finished save keeps the creation time of the 'running' row it replaces
UPSERT = (f"INSERT INTO runs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
          "ON CONFLICT(key) DO UPDATE SET created = CASE WHEN runs.status = 'running' "
          "THEN runs.created ELSE excluded.created END, "
          + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c not in ("key", "created")))
HOST = socket.gethostname()


class BrokenEntry(ValueError):
    """A stored run whose files are missing, partial or unreadable."""


@functools.cache
def code_version() -> str:
    """``workbench.__version__`` plus a short hash of the package's .py files.

    Part of every store key, so a run made by other code is never reused as a cache hit.
    Computed once per process (a long-lived app keeps the version it started with).
    """
    import workbench

    pkg = Path(workbench.__file__).parent
    h = hashlib.sha256()
    for p in sorted(pkg.rglob("*.py")):
        if "__pycache__" in p.parts:
            continue
        h.update(p.relative_to(pkg).as_posix().encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return f"{workbench.__version__}+{h.hexdigest()[:10]}"


def default_root(root: str | Path | None = None) -> Path:
    """``root``, else ``$WORKBENCH_STORE``, else ``<project root>/runs``; absolute."""
    if root is None:
        import workbench

        root = os.environ.get("WORKBENCH_STORE") or Path(workbench.__file__).parents[1] / "runs"
    return Path(root).expanduser().resolve()


def now() -> str:
    """UTC ISO time; the fixed format sorts as text, as the index's ORDER BY needs."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def pid_alive(pid: Any) -> bool:
    """Whether process ``pid`` exists on this host (a 'running' row with a dead pid is stale)."""
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there
        return True
    if pid is None or pd.isna(pid):
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def crash_point(name: str) -> None:
    """Test hook: die here, as a killed process would (no cleanup, no exception)."""
    if os.environ.get(CRASH_ENV) == name:
        os._exit(1)


def _plain(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=str)
    return str(obj)


def dumps(obj: Any) -> str:
    """JSON text; numpy values become plain numbers, anything else unknown its str."""
    return json.dumps(obj, default=_plain)


# ---- frames ---------------------------------------------------------------------------
def encode_frame(df: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Make ``df`` writable to Parquet; the spec says how to undo it (see module doc)."""
    spec: dict = {"object": [], "json": []}
    out = df
    for col in df.columns:
        if df[col].dtype != object:
            continue
        spec["object"].append(col)
        kind = pd.api.types.infer_dtype(df[col], skipna=False)
        if kind not in ("string", "empty"):
            out = df.copy() if out is df else out
            out[col] = [dumps(v) for v in df[col]]
            spec["json"].append(col)
    return out, spec


def decode_frame(df: pd.DataFrame, spec: dict) -> pd.DataFrame:
    for col in spec.get("object", []):
        if col in spec.get("json", []):
            df[col] = pd.Series([json.loads(v) for v in df[col]], index=df.index, dtype=object)
        else:
            df[col] = df[col].astype(object)
    return df


def _fsync_dir(path: Path) -> None:
    try:  # directories cannot be opened on every platform; the rename is still atomic
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_run_dir(path: Path, meta: dict, frames: dict[str, pd.DataFrame | None]) -> None:
    """Write frames as Parquet and ``meta.json`` (listing them) into ``path``, all fsync'd."""
    path.mkdir(parents=True)
    meta = dict(meta, format=FORMAT, frames={})
    for name, df in frames.items():
        if df is None:
            meta["frames"][name] = None
            continue
        enc, spec = encode_frame(df)
        with open(path / f"{name}.parquet", "wb") as f:
            enc.to_parquet(f, engine="pyarrow")
            f.flush()
            os.fsync(f.fileno())
        meta["frames"][name] = {"file": f"{name}.parquet", **spec}
    with open(path / META, "w", encoding="utf-8") as f:
        f.write(dumps(meta))
        f.flush()
        os.fsync(f.fileno())
    crash_point("after_files")
    _fsync_dir(path)


def read_meta(path: Path) -> dict:
    try:
        meta = json.loads((path / META).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise BrokenEntry(f"cannot read {path / META}: {err}") from err
    if not isinstance(meta, dict) or not isinstance(meta.get("frames"), dict):
        raise BrokenEntry(f"{path / META} is not a run store meta file")
    return meta


def read_run_dir(path: Path) -> tuple[dict, dict[str, pd.DataFrame]]:
    """``(meta, frames)`` of a stored run; ``BrokenEntry`` if anything is missing or bad."""
    meta = read_meta(path)
    frames = {}
    for name, spec in meta["frames"].items():
        if spec is None:
            frames[name] = pd.DataFrame()
            continue
        try:
            frames[name] = decode_frame(pd.read_parquet(path / spec["file"]), spec)
            if name in ("history", "stages"):  # stored before the ``level`` column
                frames[name] = with_level(frames[name])
        except Exception as err:  # missing file, truncated Parquet, bad JSON cell
            raise BrokenEntry(f"cannot read frame {name!r} of {path}: {err}") from err
    return meta, frames


# ---- directories ----------------------------------------------------------------------
def swap_into_place(src: Path, dst: Path, tmp_root: Path) -> Path | None:
    """Rename ``src`` to ``dst``; an existing ``dst`` is moved aside first and returned
    (the caller removes it once the index commits). Call with the index write-locked so
    two writers of one key take turns."""
    crash_point("before_rename")
    if not dst.exists():
        os.rename(src, dst)
        return None
    aside = tmp_root / f"{dst.name}-old-{uuid.uuid4().hex}"
    os.rename(dst, aside)
    crash_point("after_aside")
    try:
        os.rename(src, dst)
    except BaseException:
        os.rename(aside, dst)
        raise
    _fsync_dir(dst.parent)
    return aside


def remove_tree(path: Path | None) -> None:
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)


def clean_tmp(tmp_root: Path, max_age_s: float = TMP_MAX_AGE_S) -> int:
    """Remove leftovers of killed writers older than ``max_age_s``; returns how many."""
    if not tmp_root.is_dir():
        return 0
    now, n = time.time(), 0
    for p in tmp_root.iterdir():
        try:
            if now - p.stat().st_mtime > max_age_s:
                remove_tree(p) if p.is_dir() else p.unlink()
                n += 1
        except OSError:
            pass  # another process removed it first
    return n
