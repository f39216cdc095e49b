"""``text_domains``: a tiny character-level language-modelling mixture of text domains.

Why: data reweighting for LM pre-training (Sow et al., ICLR 2025; DoReMi, Xie et al. 2023;
SoftDedup, He et al. 2024) is about mixtures whose parts differ in quality: redundant
boilerplate that is learnt early and then wastes steps, real prose, and noise that can
never be learnt. This mixture has all three, built OFFLINE from what ships with Python:

- ``english``: real English prose, the standard library's documentation topics
  (``pydoc_data.topics.topics``);
- ``boilerplate``: near-duplicates, a few licence-header and log-line templates with small
  random substitutions (plus ``duplicate_fraction`` exact repeats in the training split);
- ``random``: unlearnable random characters (uniform over the vocabulary except newline:
  the best possible perplexity is 95);
- ``code``: Python source of a few standard-library modules (``inspect.getsource``).

Tokens are characters: the vocabulary is newline plus printable ASCII 32..126 (96 tokens,
``VOCAB``); tabs become four spaces and any other character is dropped. A sample is a
window of ``seq_len + 1`` characters: X = window[:-1], y = window[1:], both int64 of shape
(n, seq_len). Groups are the domains; each domain is split 70/15/15, so val and test hold
every domain and per-domain validation perplexity is the metric. Our choices throughout.

Example:
    >>> b = TextDomains(n_per_domain=40, seq_len=16).load(seed=0)
    >>> b.task, b.train.X.shape[1], b.extra["vocab_size"], b.group_names
    ('lm', 16, 96, ['english', 'boilerplate', 'random', 'code'])
    >>> decode(encode("Hello,\\tworld\\n"))
    'Hello,    world\\n'
"""

from __future__ import annotations

import functools
import importlib
import inspect
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..params import Params, param
from ..registry import check
from .base import DATASETS, LM, DatasetBundle, Split, split_three

VOCAB = "\n" + "".join(chr(c) for c in range(32, 127))  # index = token id
_BYTE_TO_ID = np.full(256, -1, dtype=np.int64)  # ASCII byte -> token id, -1 if not in VOCAB
_BYTE_TO_ID[[ord(c) for c in VOCAB]] = np.arange(len(VOCAB))
DOMAINS = ("english", "boilerplate", "random", "code")
CODE_MODULES = ("textwrap", "string", "json.encoder", "functools", "collections")

LICENCE = ("# Copyright (c) {year} {org}. All rights reserved.\n"
           "# Licensed under the {lic} License. See LICENSE in the project root.\n")
LOG = "{year}-0{mon}-1{day} 1{h}:{m}2:0{s} {level} {svc}: request {rid} done in {ms} ms\n"
ORGS = ("Acme Corp", "Initech", "Globex Inc", "Umbrella Ltd")
LICENCES = ("MIT", "Apache 2.0", "BSD-3-Clause")
LEVELS = ("INFO", "WARN", "DEBUG")
SERVICES = ("api", "worker", "auth")


def encode(text: str) -> np.ndarray:
    """Characters to token ids (int64); tabs become 4 spaces, unknown characters vanish."""
    raw = np.frombuffer(text.replace("\t", "    ").encode("ascii", "ignore"), dtype=np.uint8)
    ids = _BYTE_TO_ID[raw]
    return ids[ids >= 0]


def decode(tokens) -> str:
    """Token ids back to text."""
    return "".join(VOCAB[int(t)] for t in tokens)


@functools.cache
def corpus(domain: str) -> np.ndarray:
    """Encoded text of a real domain: "english" (pydoc topics) or "code" (stdlib source)."""
    if domain == "english":
        from pydoc_data.topics import topics

        tokens = encode("\n".join(topics[k] for k in sorted(topics)))
    else:
        tokens = encode("\n".join(inspect.getsource(importlib.import_module(m))
                                  for m in CODE_MODULES))
    tokens.setflags(write=False)  # cached: shared by every load
    return tokens


def _boilerplate(n_chars: int, rng: np.random.Generator) -> str:
    """A stream of template instances (licence headers and log lines), >= n_chars long."""
    parts, total = [], 0
    while total < n_chars:
        if rng.random() < 0.3:
            s = LICENCE.format(year=2015 + rng.integers(10), org=rng.choice(ORGS),
                               lic=rng.choice(LICENCES))
        else:
            s = LOG.format(year=2020 + rng.integers(5), mon=rng.integers(1, 10),
                           day=rng.integers(10), h=rng.integers(10), m=rng.integers(6),
                           s=rng.integers(10), level=rng.choice(LEVELS),
                           svc=rng.choice(SERVICES), rid=rng.integers(1000, 10000),
                           ms=rng.integers(1, 100))
        parts.append(s)
        total += len(s)
    return "".join(parts)


def _windows(tokens: np.ndarray, n: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """n windows of ``width`` tokens: distinct non-overlapping chunks while the text lasts."""
    n_chunks = len(tokens) // width
    check(n_chunks >= 1, f"text_domains: a corpus of {len(tokens)} characters is shorter than "
                         f"one window of {width}; lower seq_len")
    starts = rng.choice(n_chunks, size=n, replace=n > n_chunks) * width
    return np.stack([tokens[s:s + width] for s in starts])


def _domain_windows(domain: str, n: int, width: int, rng: np.random.Generator) -> np.ndarray:
    if domain == "random":  # newline excluded: every other character equally likely
        return rng.integers(1, len(VOCAB), size=(n, width))
    if domain == "boilerplate":
        return _windows(encode(_boilerplate(n * width, rng)), n, width, rng)
    return _windows(corpus(domain), n, width, rng)


def domain_split(n: int, seed: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train/val/test indices (70/15/15) of domain ``k``'s ``n`` windows, fixed by the seed,
    so that val and test hold every domain."""
    return split_three(n, val=0.15, test=0.15, seed=seed + k)


def assemble_domains(windows: list[np.ndarray], splits: list[tuple], repeats: list[np.ndarray]
                     ) -> tuple[dict[str, Split], np.ndarray]:
    """The lm splits of a mixture of domains: X = window[:-1], y = window[1:], g = domain.

    ``windows[k]`` (n_k, seq_len + 1) token ids of domain k, ``splits[k]`` its (train, val,
    test) indices, ``repeats[k]`` indices of its training windows added again to the
    training split (exact duplicates; may be empty). Sample ids: domain k's windows are
    ``offset_k + 0..n_k-1`` (domains in order), repeats get fresh ids after all of them.
    Returns the splits and ``duplicate_of`` (per training sample: the id it repeats, or -1).

    Example:
        >>> w = [np.arange(12).reshape(4, 3), np.arange(6).reshape(2, 3)]
        >>> s, dup = assemble_domains(w, [(np.array([0, 1]), np.array([2]), np.array([3])),
        ...                               (np.array([0]), np.array([1]), np.array([1]))],
        ...                          [np.array([1]), np.zeros(0, int)])
        >>> s["train"].ids.tolist(), s["train"].g.tolist(), dup.tolist()
        ([0, 1, 6, 4], [0, 0, 0, 1], [-1, -1, 1, -1])
    """
    parts: dict[str, list] = {"train": [], "val": [], "test": []}
    dup_of: list[np.ndarray] = []
    offset = 0
    for k, (w, (tr, va, te), extra_tr) in enumerate(zip(windows, splits, repeats)):
        ids = offset + np.arange(len(w), dtype=np.int64)
        for name, idx in (("train", np.concatenate([tr, extra_tr]).astype(np.int64)),
                          ("val", va), ("test", te)):
            parts[name].append((w[idx], np.full(len(idx), k, np.int64), ids[idx]))
        dup_of.append(np.concatenate([np.full(len(tr), -1), ids[extra_tr]]))
        offset += len(w)
    dup = np.concatenate(dup_of).astype(np.int64)
    out = {}
    for name, chunks in parts.items():
        w, g, ids = (np.concatenate(a) for a in zip(*chunks))
        if name == "train":  # repeats get fresh ids after every original sample
            is_dup = dup >= 0
            ids = ids.copy()
            ids[is_dup] = offset + np.arange(int(is_dup.sum()))
        out[name] = Split(np.ascontiguousarray(w[:, :-1]), np.ascontiguousarray(w[:, 1:]), g, ids)
    return out, dup


@DATASETS.register("text_domains")
@dataclass(frozen=True)
class TextDomains(Params):
    """Character-level LM over text domains of different quality (english, boilerplate,
    random, code); groups = domains, splits 70/15/15 per domain.

    ``n_per_domain`` windows of ``seq_len + 1`` characters per domain; ``duplicate_fraction``
    adds round(fraction x boilerplate training windows) exact repeats of randomly chosen
    boilerplate training windows to the training split only (redundancy; their positions
    and the originals' sample ids are in ``extra["duplicate_of"]``, -1 elsewhere).
    ``extra``: ``vocab_size`` (96), ``itos`` (the vocabulary string).

    Example:
        >>> b = TextDomains(n_per_domain=30, domains=["random", "english"]).load(seed=1)
        >>> b.train.X.dtype, b.train.y.shape[1], b.counts("test")["group"].tolist()
        (dtype('int64'), 64, [5, 5])
    """

    task: ClassVar[str] = LM
    # the app's default: 3 schemes x 3 seeds in ~25 s on 2 CPU cores (the full data set,
    # 30 epochs: 18 min; more wants a GPU)
    default_budget: ClassVar[dict] = {"epochs": 3,
                                      "dataset_params": {"n_per_domain": 200, "seq_len": 32}}
    n_per_domain: int = param(600, low=20, high=100_000, log=True,
                              help="Sequences per domain (before the split).")
    seq_len: int = param(64, low=2, high=1024, help="Tokens per sequence.")
    domains: list = param(list(DOMAINS), item="str", choices=DOMAINS,
                          noun="a non-empty list of distinct names",
                          help="Which text domains to mix (each is a group).")
    duplicate_fraction: float = param(0.5, low=0, high=10,
                                      help="Extra exact copies of the boilerplate domain, as "
                                           "a fraction of its size.")

    def __post_init__(self):
        super().__post_init__()
        self.require(len(set(self.domains)) == len(self.domains), "domains",
                     f"text_domains domains must be a non-empty list of distinct names from "
                     f"{', '.join(DOMAINS)}; got {self.domains!r}")

    def load(self, seed: int) -> DatasetBundle:
        rng = np.random.default_rng(seed)
        width, n = self.seq_len + 1, self.n_per_domain
        windows, splits, repeats = [], [], []
        for k, domain in enumerate(self.domains):
            windows.append(_domain_windows(domain, n, width, rng))
            splits.append(domain_split(n, seed, k))
            extra_tr = np.zeros(0, np.int64)
            if domain == "boilerplate" and self.duplicate_fraction > 0:
                tr = splits[-1][0]
                extra_tr = rng.choice(tr, size=round(self.duplicate_fraction * len(tr)))
            repeats.append(extra_tr)
        splits, dup_of = assemble_domains(windows, splits, repeats)
        n_dup = int((dup_of >= 0).sum())
        return DatasetBundle(
            name="text_domains", task=LM, train=splits["train"], val=splits["val"],
            test=splits["test"], class_names=[], group_names=list(self.domains),
            notes=f"character-level LM, {len(VOCAB)} tokens, windows of {self.seq_len}; "
                  f"{n_dup} exact repeats of boilerplate windows in train only; val/test "
                  "hold every domain",
            extra={"vocab_size": len(VOCAB), "itos": VOCAB,
                   "duplicate_of": dup_of},
        )

