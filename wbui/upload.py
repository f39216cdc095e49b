"""A user's own file reaches the app by upload; server paths only where the host allows them.

Why: the ``csv`` data set used to take a path typed into a text box, so a user in a browser
could not use their own file, and on a shared deployment anyone could make the app read
server files (``/etc/passwd`` was accepted as a path to try). Now every data-set parameter
declared with ``file_types`` (``workbench.params.ParamSpec``: csv's ``path``, the array
files of other data sets) gets an upload. The bytes are saved content-addressed, as
``<store>/uploads/<sha256>.<type>``: the same file is stored once, a changed file gets a
new path, and since the data fingerprint hashes every file a run reads, the content is part
of its runs' store keys. A typed path is refused, with the reason beside the control,
unless ``WORKBENCH_ALLOW_SERVER_PATHS=1`` is set where the app runs; the app's own bundled
example files and earlier uploads are always allowed.

Example:
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> p = save_upload(b"x,y\\n1,0\\n", "mine.CSV", root, ("csv", "csv.gz"))
    >>> p.name == hashlib.sha256(b"x,y\\n1,0\\n").hexdigest() + ".csv"
    True
    >>> refusal("/etc/passwd", ("csv",), root, allowed=False).split(":")[0]
    'reading files on the server is off'
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data.adult import data_dir

ALLOW_ENV = "WORKBENCH_ALLOW_SERVER_PATHS"


def server_paths_allowed() -> bool:
    """True when the host set ``WORKBENCH_ALLOW_SERVER_PATHS`` to 1 (or true, yes)."""
    return os.environ.get(ALLOW_ENV, "").strip().lower() in ("1", "true", "yes")


def file_type(name: str, types: tuple) -> str | None:
    """The declared type ``name`` ends with (longest first: 'a.csv.gz' is 'csv.gz').

    Example:
        >>> file_type("Data.CSV.gz", ("csv", "csv.gz")), file_type("x.txt", ("csv",))
        ('csv.gz', None)
    """
    low = name.lower()
    return next((t for t in sorted(types, key=len, reverse=True) if low.endswith("." + t)),
                None)


def save_upload(data: bytes, name: str, store_root, types: tuple) -> Path:
    """Write ``data`` once under ``<store_root>/uploads/<sha256>.<type>``; its path."""
    kind = file_type(name, types)
    if kind is None:
        raise ValueError(f"{name!r} is not one of the allowed file types: "
                         + ", ".join("." + t for t in types))
    folder = Path(store_root) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()}.{kind}"
    if not path.is_file() or path.stat().st_size != len(data):
        tmp = path.with_suffix(f".{os.getpid()}.part")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return path


def safe_roots(store_root) -> list[Path]:
    """Folders the app may always read: uploads and the bundled example data."""
    return [(Path(store_root) / "uploads").resolve(), (data_dir() / "examples").resolve()]


def refusal(path: str, types: tuple, store_root, allowed: bool | None = None,
            folder: bool = False) -> str | None:
    """Why a typed path may not be read (None when it may): server paths are off unless
    the host allows them; uploads and the bundled examples are always fine, and so is
    the data folder for a ``folder`` parameter (CIFAR's root: the host chose it)."""
    if not path.strip():
        return None
    allowed = server_paths_allowed() if allowed is None else allowed
    real = Path(os.path.realpath(Path(path).expanduser()))
    if any(real.is_relative_to(root) for root in safe_roots(store_root)):
        return None
    if folder and real.is_relative_to(data_dir().resolve()):
        return None
    if not allowed and folder and not types:
        return (f"reading folders on the server is off: {path} was not read. Leave it empty "
                f"for the host's data folder ({data_dir()}), or the host can allow server "
                f"paths with {ALLOW_ENV}=1")
    if not allowed:
        return (f"reading files on the server is off: {path} was not read. Upload the file "
                f"instead (the host can allow server paths with {ALLOW_ENV}=1)")
    if folder and (real.is_dir() or not types):
        return None
    if file_type(real.name, types) is None:
        return (f"{path} is not one of the allowed file types: "
                + ", ".join("." + t for t in types))
    return None


def preview(path: str, rows: int = 5) -> pd.DataFrame:
    """The first rows of a table (csv, parquet) or the arrays of an .npz (name, shape,
    dtype); raises ValueError with the reason when the file cannot be read."""
    low = str(path).lower()
    try:
        if low.endswith(".npz"):
            with np.load(path, allow_pickle=False) as z:
                return pd.DataFrame([{"array": k, "shape": str(z[k].shape),
                                      "dtype": str(z[k].dtype)} for k in z.files])
        if low.endswith(".parquet"):
            return pd.read_parquet(path).head(rows)
        return pd.read_csv(path, sep=None, engine="python", nrows=rows,
                           encoding_errors="replace")
    except Exception as err:  # noqa: BLE001 - any reader error is said, not raised
        raise ValueError(f"could not read {Path(path).name}: {err}") from None


def columns(path: str) -> list[str]:
    """The columns a ``columns_of`` parameter chooses from: a table's column names, an
    .npz file's array names."""
    df = preview(path, rows=1)
    if str(path).lower().endswith(".npz"):
        return [str(a) for a in df["array"]]
    return [str(c) for c in df.columns]
