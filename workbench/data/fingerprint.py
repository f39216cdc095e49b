"""Content fingerprints of the files a run reads, so the run store never serves stale runs.

Why: a config names a file by its path, but a run depends on what the file holds. Editing
a CSV in place and running again must train again, not load the run of the old content.
A data set declares the files it reads with a ``files()`` method (``csv`` does: its
``path``); every such file's sha256 goes into the run store's key
(``RunStore.key``). Hashing is cached per (path, size, mtime): a file that did not change
is read once per process, so checking a stored run costs a ``stat``, not a read.

Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(path, "w").write("x,y\\n1,0\\n")
    >>> before = file_digest(path)
    >>> _ = open(path, "w").write("x,y\\n2,0\\n")
    >>> file_digest(path) == before
    False
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .base import DATASETS

_DIGESTS: dict[tuple[str, int, int], str] = {}  # (real path, size, mtime_ns) -> sha256


def file_digest(path: str | os.PathLike) -> str:
    """sha256 of the file's bytes; cached while its size and mtime stay the same."""
    real = os.path.realpath(Path(path).expanduser())
    st = os.stat(real)
    key = (real, st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with open(real, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def data_files(dataset: str, dataset_params: dict) -> list[str]:
    """The files the data set ``dataset`` with ``dataset_params`` reads (often none)."""
    ds = DATASETS.create(dataset, **dataset_params)
    files = getattr(ds, "files", None)
    return [str(f) for f in files()] if callable(files) else []


def data_fingerprint(dataset: str, dataset_params: dict) -> dict[str, str]:
    """{path as configured: sha256} of every declared file that exists (a missing file is
    left out: loading it fails with its own message, and nothing is stored)."""
    out = {}
    for f in data_files(dataset, dataset_params):
        if Path(f).expanduser().is_file():
            out[f] = file_digest(f)
    return out
