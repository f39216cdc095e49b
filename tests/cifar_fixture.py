"""Tiny CIFAR folders in exactly the "python version" format, written at test time.

Each class's images are noise around a class colour, so a small CNN can learn them in an
epoch. ``pickles`` writes the files with ``pickle`` directly (the tests of the reader do
not trust the package's own writer); ``folder`` caches one fixture per (kind, sizes) in a
temporary directory for the tests that only need some data.
"""

from __future__ import annotations

import functools
import pickle
import tempfile
from pathlib import Path

import numpy as np

FILES = {"cifar10": ([f"data_batch_{i}" for i in range(1, 6)], "test_batch", b"labels", 10),
         "cifar100": (["train"], "test", b"fine_labels", 100)}
FOLDER = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}


def images(labels: np.ndarray, n_classes: int, seed: int) -> np.ndarray:
    """(n, 3, 32, 32) uint8: class colour + noise."""
    rng = np.random.default_rng(seed)
    colours = np.random.default_rng(99).integers(30, 226, (n_classes, 3, 1, 1))
    noise = rng.normal(0, 25, (len(labels), 3, 32, 32))
    return np.clip(colours[labels] + noise, 0, 255).astype(np.uint8)


def pickles(root: Path, kind: str, per_class: int, per_class_test: int, seed: int = 0) -> Path:
    """Write a fixture: training rows spread over the training files, labels shuffled."""
    train_files, test_file, key, C = FILES[kind]
    folder = Path(root) / FOLDER[kind]
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.repeat(np.arange(C), per_class))
    yt = np.repeat(np.arange(C), per_class_test)
    for name, labels in [*zip(train_files, np.array_split(y, len(train_files))),
                         (test_file, yt)]:
        x = images(labels, C, seed + len(labels) + len(name))
        d = {b"batch_label": name.encode(), key: [int(v) for v in labels],
             b"data": x.reshape(len(labels), 3072), b"filenames": [b"x.png"] * len(labels)}
        with open(folder / name, "wb") as fh:
            pickle.dump(d, fh, protocol=2)
    return folder


@functools.cache
def folder(kind: str = "cifar10", per_class: int = 20, per_class_test: int = 4) -> str:
    return str(pickles(Path(tempfile.mkdtemp(prefix="wb-cifar-")), kind, per_class,
                       per_class_test))


def params(kind: str = "cifar10") -> dict:
    """Data set params of a small fixture (used by the generic data set tests)."""
    if kind == "cifar10":
        return {"root": folder("cifar10", 20, 4), "val_per_class": 2}
    return {"root": folder("cifar100", 6, 2), "val_per_class": 1}
