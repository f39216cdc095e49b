"""The CIFAR "python version" files: read them, write them (fixtures), fetch them.

Format (Krizhevsky 2009, https://www.cs.toronto.edu/~kriz/cifar.html; the layout
torchvision's ``CIFAR10``/``CIFAR100`` read): pickled dicts with bytes keys. CIFAR-10:
``cifar-10-batches-py/data_batch_1..5`` and ``test_batch``, each ``b"data"`` uint8
(10000, 3072), one row per image, the 1024 red, then green, then blue values of a 32x32
image in row-major order, and ``b"labels"`` (a list of ints 0..9). CIFAR-100:
``cifar-100-python/train`` (50,000 rows) and ``test`` with ``b"fine_labels"`` (0..99).

Why a restricted unpickler: a pickle can run code when loaded, and ``root`` is a folder
the user names. The files hold only dicts, lists, bytes, ints and numpy arrays, so only
numpy's array-rebuilding functions may be looked up; anything else is refused.

Nothing is downloaded implicitly: ``fetch`` runs only from ``python -m workbench data
fetch cifar10|cifar100``, checks the archive's md5 and extracts it.

Example:
    >>> import tempfile
    >>> x = np.zeros((20, 3, 32, 32), np.uint8); y = np.arange(20) % 10
    >>> folder = write_files(tempfile.mkdtemp(), "cifar10", x, y, x[:10], y[:10])
    >>> X, Y, Xt, Yt = read_files(folder, "cifar10")
    >>> X.shape, X.dtype.name, Y[:3].tolist(), len(Yt)
    ((20, 3, 32, 32), 'uint8', [0, 1, 2], 10)
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Source:
    folder: str  # the folder the archive extracts to
    train: tuple[str, ...]
    test: str
    label_key: bytes
    n_classes: int
    url: str
    md5: str


SOURCES = {
    "cifar10": Source("cifar-10-batches-py", tuple(f"data_batch_{i}" for i in range(1, 6)),
                      "test_batch", b"labels", 10,
                      "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                      "c58f30108f718f92721af3b95e74349a"),
    "cifar100": Source("cifar-100-python", ("train",), "test", b"fine_labels", 100,
                       "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                       "eb9058c3a382ffc7106e4002c42a8d85"),
}
_ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"), ("numpy.core.numeric", "_frombuffer"),
            ("numpy._core.numeric", "_frombuffer"), ("_codecs", "encode")}


class FetchError(Exception):
    """A download that failed (offline, bad checksum): one line for the CLI."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR file")
        return super().find_class(module, name)


def expected_files(kind: str) -> list[str]:
    s = SOURCES[kind]
    return [*s.train, s.test]


def missing_files(folder: str | os.PathLike, kind: str) -> list[str]:
    return [f for f in expected_files(kind) if not (Path(folder) / f).is_file()]


def _read_one(path: Path, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as fh:
            d = _Unpickler(fh, encoding="bytes").load()
        data, labels = d[b"data"], d[label_key]
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path} is not a CIFAR 'python version' file (a pickled dict with "
                         f"b'data' and {label_key!r}): {err}") from None
    data = np.asarray(data)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"{path}: b'data' must be uint8 of shape (n, 3072), got "
                         f"{data.dtype} {data.shape}")
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != len(data):
        raise ValueError(f"{path}: {len(data)} images but {len(labels)} labels")
    return data.reshape(-1, 3, 32, 32), labels


def read_files(folder: str | os.PathLike, kind: str
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images (N, 3, 32, 32) uint8, train labels, test images, test labels)."""
    s = SOURCES[kind]
    parts = [_read_one(Path(folder) / f, s.label_key) for f in s.train]
    X = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    Xt, yt = _read_one(Path(folder) / s.test, s.label_key)
    for path, labels in ((folder, y), (folder, yt)):
        if len(labels) and (labels.min() < 0 or labels.max() >= s.n_classes):
            raise ValueError(f"{path}: labels must be in 0..{s.n_classes - 1}")
    return X, y, Xt, yt


def write_files(root: str | os.PathLike, kind: str, X: np.ndarray, y: np.ndarray,
                Xt: np.ndarray, yt: np.ndarray) -> Path:
    """Write images (n, 3, 32, 32) uint8 and labels in exactly the files' format (tests,
    benchmarks on synthetic data); the training rows are spread over the training files.
    Returns the folder (``root / cifar-10-batches-py`` or ``root / cifar-100-python``)."""
    s = SOURCES[kind]
    folder = Path(root) / s.folder
    folder.mkdir(parents=True, exist_ok=True)
    chunks = np.array_split(np.arange(len(y)), len(s.train))
    for name, idx, images, labels in [(n, i, X, y) for n, i in zip(s.train, chunks)] + [
            (s.test, np.arange(len(yt)), Xt, yt)]:
        d = {b"batch_label": name.encode(), s.label_key: [int(v) for v in labels[idx]],
             b"data": np.ascontiguousarray(images[idx], dtype=np.uint8).reshape(len(idx), 3072),
             b"filenames": [f"img_{i}.png".encode() for i in idx]}
        with open(folder / name, "wb") as fh:
            pickle.dump(d, fh, protocol=2)
    return folder


def fetch(kind: str, root: str | os.PathLike, log=None) -> Path:
    """Download the ``kind`` archive into ``root``, check its md5, extract it; return the
    extracted folder. Offline or on a checksum mismatch: ``FetchError`` and nothing is
    extracted (the partial download is removed)."""
    s = SOURCES[kind]
    root = Path(root).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".download-", suffix=".tar.gz", dir=root)
    md5 = hashlib.md5()
    try:
        try:
            with urllib.request.urlopen(s.url, timeout=60) as resp, os.fdopen(fd, "wb") as out:
                for block in iter(lambda: resp.read(1 << 20), b""):
                    md5.update(block)
                    out.write(block)
        except OSError as err:  # URLError, timeouts, refused connections
            reason = getattr(err, "reason", err)
            raise FetchError(f"cannot download {s.url}: {reason}; on a machine without "
                             f"internet, download it elsewhere and extract it into {root}"
                             ) from None
        if md5.hexdigest() != s.md5:
            raise FetchError(f"checksum mismatch for {s.url}: md5 {md5.hexdigest()}, expected "
                             f"{s.md5}; the download is corrupt or not the {kind} archive "
                             "(nothing was extracted)")
        with tarfile.open(tmp, "r:gz") as tar:
            tar.extractall(root, filter="data")
    finally:
        Path(tmp).unlink(missing_ok=True)
    folder = root / s.folder
    if log is not None:
        log(f"{kind}: extracted {', '.join(expected_files(kind))} into {folder}")
    return folder


def archive_bytes(folder: str | os.PathLike) -> bytes:
    """A .tar.gz of ``folder`` (named as the archive names it): tests of ``fetch``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(folder, arcname=Path(folder).name)
    return buf.getvalue()
