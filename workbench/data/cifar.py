"""``cifar10_lt`` and ``cifar100_lt``: long-tailed CIFAR, the classic long-tail benchmark.

Why: class-balanced loss (Cui et al., CVPR 2019), LDAM-DRW (Cao et al., NeurIPS 2019) and
logit adjustment (Menon et al., ICLR 2021) are all measured on CIFAR-10-LT / CIFAR-100-LT
with a ResNet-32 (``resnet32``); these data sets make that setting one config away.

Long-tail profile (Cao et al.'s ``IMBALANCECIFAR10``): class c keeps
n_c = int(n_max * ratio^(-c / (C - 1))) training images, n_max being the images per class of
the training files (5,000 for CIFAR-10, 500 for CIFAR-100), drawn at random with the load
seed (Cao et al. shuffle each class with seed 0 and keep the first n_c). With ratio 100:
5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50 on CIFAR-10. The test split is the
balanced test file (1,000 or 100 images per class).

Our choices: the validation split is ``val_per_class`` images of every class, drawn first
from the training files' images (a balanced validation set held out from training); the
training images are then drawn from the rest, so only classes whose n_c exceeds what is left
shrink (on CIFAR-10 with the defaults: class 0 keeps 4,950 instead of 5,000; every other
class has its published count). A class keeps at least one image (tiny fixtures).
A smaller problem of the same shape, for a CPU: ``n_max`` replaces the files' images per
class in the profile (``n_max=200`` at ratio 100: 200, 119, 71, 43, 25, 15, 9, 5, 3, 2) and
``test_per_class`` keeps that many test images of every class, drawn with the load seed
after the training images (the test split stays balanced; the training split does not
change). Both are upper bounds (a file with fewer images gives what it has); 0, their
default, is the published setting.
Groups (``group_by="shot"``): many-shot (> 100 training images), medium-shot (20..100) and
few-shot (< 20) classes, the usual split (Liu et al., OLTR, CVPR 2019), so worst-group
accuracy is the accuracy of the rarest kind of class; only kinds that have a class are
groups (CIFAR-10-LT at ratio 100 has no few-shot class: its worst group is medium-shot).
The kinds come from the training counts as drawn, so a smaller ``n_max`` moves classes to
rarer kinds (``n_max=200``: 2 many-, 3 medium-, 5 few-shot classes).
``group_by="class"`` makes each class a group. Images stay uint8 (n, 3, 32, 32) (a 50,000
image split is 150 MB, not 600 MB of float32); the image models convert each batch
(``nets/images.py``), and with ``augment`` the training batches get a random crop with
4-pixel zero padding and a horizontal flip (``data/images.py``).

Example:
    >>> import tempfile
    >>> rng = np.random.default_rng(0)
    >>> x = rng.integers(0, 256, (600, 3, 32, 32), dtype=np.uint8)
    >>> y = np.repeat(np.arange(10), 60)
    >>> root = write_files(tempfile.mkdtemp(), "cifar10", x, y, x[:100], y[:100])
    >>> b = CIFAR10LT(root=str(root), ratio=10, val_per_class=5).load(seed=0)
    >>> b.counts("train")["class"].tolist(), b.group_names
    ([55, 46, 35, 27, 21, 16, 12, 10, 7, 6], ['medium-shot', 'few-shot'])
    >>> small = CIFAR10LT(root=str(root), ratio=10, val_per_class=5, n_max=20).load(seed=0)
    >>> small.counts("train")["class"].tolist()
    [20, 15, 11, 9, 7, 5, 4, 3, 2, 2]
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..params import Params, param
from .adult import data_dir
from .base import CLASSIFICATION, DATASETS, DatasetBundle, Split
from .cifar_files import SOURCES, expected_files, missing_files, read_files, write_files

SHOTS = (("many-shot", 101, None), ("medium-shot", 20, 100), ("few-shot", 0, 19))
GROUP_BY = ("shot", "class")
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]


def longtail_counts(n_max: int, n_classes: int, ratio: float) -> np.ndarray:
    """n_c = int(n_max * ratio^(-c / (C - 1))), at least 1 (Cao et al.'s profile).

    Example:
        >>> longtail_counts(5000, 10, 100).tolist()
        [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    """
    c = np.arange(n_classes)
    n = [int(n_max * (1.0 / ratio) ** (k / max(n_classes - 1.0, 1.0))) for k in c]
    return np.maximum(1, np.array(n, dtype=np.int64))


def shot_of(counts: np.ndarray) -> np.ndarray:
    """0 many-shot (> 100), 1 medium-shot (20..100), 2 few-shot (< 20), per class."""
    return np.where(counts > 100, 0, np.where(counts >= 20, 1, 2))


@lru_cache(maxsize=2)
def _files(folder: str, kind: str, stamp: tuple) -> tuple[np.ndarray, ...]:
    """The files' arrays, read once per (folder, file sizes and times): read-only."""
    arrays = read_files(folder, kind)
    for a in arrays:
        a.flags.writeable = False
    return arrays


@dataclass(frozen=True)
class _CIFARLT(Params):
    task: ClassVar[str] = CLASSIFICATION
    inputs: ClassVar[str] = "image"  # (n, 3, 32, 32) uint8: the image models take them
    kind: ClassVar[str] = "cifar10"

    def folder(self) -> Path:
        """``root`` (or its ``<archive's folder>`` sub-folder, where ``data fetch --root
        root`` put the files), or ``<data dir>/<the archive's folder>`` when ``root`` is
        empty (data dir: ``$WORKBENCH_DATA_DIR`` or the project's ``data/``)."""
        if self.root:
            root = Path(self.root).expanduser()
            inner = root / SOURCES[self.kind].folder
            return inner if missing_files(root, self.kind) and inner.is_dir() else root
        return data_dir() / SOURCES[self.kind].folder

    def files(self) -> list[Path]:
        """The files this data set reads (their content goes into the run store's key)."""
        return [self.folder() / f for f in expected_files(self.kind)]

    def preflight(self) -> None:
        """Before any run: the files exist, else one message that says how to get them."""
        folder = self.folder()
        missing = missing_files(folder, self.kind)
        if missing:
            expected = ", ".join(expected_files(self.kind))
            what = (f"no {self.kind} files in {folder} (expected the 'python version' files "
                    f"{expected})" if len(missing) == len(self.files()) else
                    f"{', '.join(missing)} missing in {folder} (expected {expected})")
            self.require(False, "root",
                         f"{self.name}: {what}. Fetch them with `python -m workbench data fetch "
                         f"{self.kind}` (into {data_dir()}), or set root to a folder that "
                         "holds them")

    def load(self, seed: int) -> DatasetBundle:
        self.preflight()
        folder = self.folder()
        stamp = tuple((f.stat().st_size, f.stat().st_mtime_ns) for f in self.files())
        X, y, Xt, yt = _files(str(folder.resolve()), self.kind, stamp)
        C = SOURCES[self.kind].n_classes
        rng = np.random.default_rng(seed)
        per_class = [rng.permutation(np.flatnonzero(y == c)) for c in range(C)]
        available = np.array([len(p) for p in per_class])
        self.require(available.min() > self.val_per_class, "val_per_class",
                     f"{self.name} val_per_class={self.val_per_class} leaves no training image "
                     f"for a class with {available.min()} images in {folder}; allowed: "
                     f"1..{available.min() - 1}")
        largest = int(available.max())  # n_max: at most what the files hold
        target = longtail_counts(min(self.n_max, largest) or largest, C, self.ratio)
        n = np.minimum(target, available - self.val_per_class)
        va = np.concatenate([p[:self.val_per_class] for p in per_class])
        tr = np.concatenate([p[self.val_per_class:self.val_per_class + k]
                             for p, k in zip(per_class, n)])
        if self.group_by == "class":
            group_of, names = np.arange(C), [str(c) for c in self.class_names(C)]
        else:
            shot = shot_of(n)
            present = sorted(set(shot.tolist()))
            group_of = np.searchsorted(present, shot)
            names = [SHOTS[s][0] for s in present]

        te = self._test_rows(yt, C, rng)

        def split(images, labels, ids=None):
            return Split(images, labels, group_of[labels], ids)

        shots = {SHOTS[s][0]: [int(c) for c in np.flatnonzero(shot_of(n) == s)] for s in range(3)}
        return DatasetBundle(
            name=self.name, task=CLASSIFICATION,
            train=split(X[tr], y[tr], tr.astype(np.int64)),
            val=split(X[va], y[va], va.astype(np.int64)),
            test=split(Xt, yt) if te is None else split(Xt[te], yt[te], te.astype(np.int64)),
            class_names=self.class_names(C), group_names=names,
            notes=f"long-tailed training split (ratio {self.ratio:g}: {int(n[0])} to "
                  f"{int(n[-1])} images per class); val ({self.val_per_class} per class) and "
                  f"test ({self.test_per_class or 'all'} per class) splits balanced",
            extra={"image_shape": (3, 32, 32), "augment": "crop_flip" if self.augment else None,
                   "shots": shots, "folder": str(folder)},
        )

    def _test_rows(self, yt: np.ndarray, C: int, rng) -> np.ndarray | None:
        """Rows of the test file kept: at most ``test_per_class`` of every class, drawn at
        random with the load seed after the training draws (so they leave the training
        split as it is), in file order; None (0): every row, the whole balanced test file."""
        if not self.test_per_class:
            return None
        return np.sort(np.concatenate([rng.permutation(np.flatnonzero(yt == c))
                                       [:self.test_per_class] for c in range(C)]))

    def class_names(self, C: int) -> list[str]:
        return CIFAR10_CLASSES if C == 10 else [str(c) for c in range(C)]


_RATIO = dict(low=1, high=10_000, log=True, typical=(1, 200, 1),
              help="Imbalance ratio n_max / n_min of the training classes (1: the balanced "
                   "files; 100 and 50 are the published settings).")
_GROUP = dict(choices=GROUP_BY, help="Groups: many/medium/few-shot classes (> 100, 20..100, "
                                     "< 20 training images), or one group per class.")
_N_MAX = ("Training images of the largest class, n_max of the profile n_c = n_max "
          "ratio^(-c/(C-1)): a smaller problem of the same shape (0: all a class has, {n}, the "
          "published setting, which wants a GPU; at most what the files hold).")
_TEST = ("Test images per class, a balanced random subset of the test file (0: all {n}, the "
         "published setting; at most what the file holds).")
_AUGMENT = dict(help="Random crop (4-pixel zero padding) and horizontal flip of every training "
                     "batch, seeded (the published recipe).")


@DATASETS.register("cifar10_lt")
@dataclass(frozen=True)
class CIFAR10LT(_CIFARLT):
    """CIFAR-10-LT (Cao et al. 2019): CIFAR-10 with an exponentially long-tailed training
    split (n_c = 5000 ratio^(-c/9)), balanced val and test; groups many/medium/few-shot.

    Reads the "python version" files (``python -m workbench data fetch cifar10``); images
    stay uint8 (3, 32, 32). Models: ``resnet32`` (the published setting) or ``cnn``.

    Example:
        >>> CIFAR10LT().ratio, CIFAR10LT().val_per_class
        (100.0, 50)
    """

    kind: ClassVar[str] = "cifar10"
    # the app's default (``wbui.budget``): CIFAR-LT is long-tailed already (no extra
    # transform), and a miniature of the same profile (n_max, val_per_class, test_per_class)
    # keeps 3 schemes x 3 seeds of the cnn within 30 s on 2 CPU cores
    # (benchmarks/app_budgets.py); the published setting (n_max=0 etc.: all images) wants
    # a GPU
    default_budget: ClassVar[dict] = {"epochs": 2, "imbalance": [], "dataset_params": {
        "n_max": 400, "val_per_class": 20, "test_per_class": 100}}
    root: str = param("", help="Folder with data_batch_1..5 and test_batch (empty: "
                               "cifar-10-batches-py in $WORKBENCH_DATA_DIR or data/).",
                      folder=True)
    ratio: float = param(100.0, **_RATIO)
    val_per_class: int = param(50, low=1, high=4999, help="Validation images per class, "
                                                          "held out from training.")
    n_max: int = param(0, low=0, high=5000, help=_N_MAX.format(n="5,000"))
    test_per_class: int = param(0, low=0, high=1000, help=_TEST.format(n="1,000"))
    group_by: str = param("shot", **_GROUP)
    augment: bool = param(True, **_AUGMENT)


@DATASETS.register("cifar100_lt")
@dataclass(frozen=True)
class CIFAR100LT(_CIFARLT):
    """CIFAR-100-LT (Cao et al. 2019): CIFAR-100 (fine labels) with a long-tailed training
    split (n_c = 500 ratio^(-c/99)), balanced val and test; groups many/medium/few-shot.

    Reads the "python version" files (``python -m workbench data fetch cifar100``).

    Example:
        >>> CIFAR100LT(ratio=50).group_by
        'shot'
    """

    kind: ClassVar[str] = "cifar100"  # budget: see CIFAR10LT (100 classes: a smaller n_max)
    default_budget: ClassVar[dict] = {"epochs": 2, "imbalance": [], "dataset_params": {
        "n_max": 40, "val_per_class": 5, "test_per_class": 10}}
    root: str = param("", help="Folder with train and test (empty: cifar-100-python in "
                               "$WORKBENCH_DATA_DIR or data/).", folder=True)
    ratio: float = param(100.0, **_RATIO)
    val_per_class: int = param(10, low=1, high=499, help="Validation images per class, held "
                                                         "out from training.")
    n_max: int = param(0, low=0, high=500, help=_N_MAX.format(n="500"))
    test_per_class: int = param(0, low=0, high=100, help=_TEST.format(n="100"))
    group_by: str = param("shot", **_GROUP)
    augment: bool = param(True, **_AUGMENT)


__all__ = ["CIFAR100LT", "CIFAR10LT", "longtail_counts", "shot_of", "write_files"]
