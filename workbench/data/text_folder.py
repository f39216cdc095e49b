"""``text_folder``: a user's own text corpus, one domain per sub-folder or file, byte-level.

Why: the domain-mixture schemes (DoReMi, temperature sampling, cooldown, LinUpper on
sequences; Xie et al. 2023, Sow et al. ICLR 2025) are about which parts of a corpus a
language model should see more of. ``text_domains`` builds its mixture from what ships
with Python; this data set reads the user's own. Tokens are the UTF-8 bytes (vocabulary
256, as in ByT5, Xue et al. 2022): nothing to download, every language and script works.

Layout: every non-hidden entry of ``path`` is a domain. A sub-folder is a domain made of
all its files (recursively, in path order, joined by a newline); a file at the top level is
a domain of its own, named by its file name without the suffix. Hidden entries (".name")
are skipped. ``path`` may also be a .zip archive of such a folder (how the app takes a
corpus: as an upload); archives unpacking to more than 1 GiB are refused. A domain's
bytes are cut into consecutive windows of ``seq_len + 1`` bytes
(the tail that does not fill one is dropped); a domain with more than ``max_per_domain``
windows keeps a seeded random subset of them. Each domain is split 70/15/15 like
``text_domains`` (the same code, ``text.assemble_domains``), so per-domain validation
perplexity is the metric. Files must be UTF-8 text: a file that is not (a wrong encoding,
a binary file) is an error naming the file and the first bad byte, not silently replaced,
because bytes of another encoding would train a different corpus than the one the user
thinks. Every file read is part of the run store's key (``files``).

Example:
    >>> import os, tempfile
    >>> root = tempfile.mkdtemp()
    >>> for name, text in (("prose.txt", "The cat sat on the mat. " * 40),
    ...                    ("code.py", "def f(x):\\n    return x + 1\\n" * 40)):
    ...     _ = open(os.path.join(root, name), "w").write(text)
    >>> b = TextFolder(path=root, seq_len=16).load(seed=0)
    >>> b.group_names, b.extra["vocab_size"], b.train.X.shape[1]
    (['code', 'prose'], 256, 16)
    >>> decode_bytes(b.train.X[0][:8]) in "def f(x):\\n    return x + 1\\n" * 2
    True
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import ClassVar

import numpy as np

from ..params import Params, param
from ..registry import check
from .base import DATASETS, LM, DatasetBundle
from .text import assemble_domains, domain_split

VOCAB_SIZE = 256
MIN_WINDOWS = 10  # per domain: a few for each of train, val and test
MAX_ZIP_BYTES = 1 << 30  # an archive unpacking to more (1 GiB) is refused: a zip bomb guard


def decode_bytes(tokens) -> str:
    """Byte tokens back to text (a window may cut a multi-byte character: replaced)."""
    return bytes(int(t) for t in tokens).decode("utf-8", errors="replace")


def domain_files(folder: str | os.PathLike) -> dict[str, list[Path]]:
    """{domain: its files} of a corpus folder (sorted; hidden entries skipped)."""
    out: dict[str, list[Path]] = {}
    root = Path(folder).expanduser()
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            name = entry.name
            files = sorted(p for p in entry.rglob("*") if p.is_file() and not any(
                part.startswith(".") for part in p.relative_to(entry).parts))
        elif entry.is_file():
            name, files = entry.stem, [entry]
        else:
            continue
        check(name not in out, f"text_folder has two domains named {name!r} in {root} (a "
                               "sub-folder and a file, or files that differ only in their "
                               "suffix); rename one")
        out[name] = files
    return out


def zip_domains(path: str) -> dict[str, list[str]]:
    """{domain: its member names} of a .zip corpus, laid out as a folder would be (an
    archive of one folder, as zipping a folder makes, is read from inside that folder)."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError) as err:
        raise ValueError(f"could not read {path} as a .zip archive: {err}") from None
    total = sum(i.file_size for i in infos)
    check(total <= MAX_ZIP_BYTES, f"text_folder archive {path} unpacks to {total:,} bytes; the "
                                  f"limit is {MAX_ZIP_BYTES:,}")
    members = [(PurePosixPath(i.filename).parts, i.filename) for i in infos]
    members = [(p, n) for p, n in members
               if not any(part.startswith(".") or part == "__MACOSX" for part in p)]
    if len({p[0] for p, _ in members}) == 1 and all(len(p) > 1 for p, _ in members):
        members = [(p[1:], n) for p, n in members]
    out: dict[str, list[str]] = {}
    kinds: dict[str, str] = {}
    for parts, name in sorted(members):
        domain, kind = ((parts[0], "dir") if len(parts) > 1
                        else (PurePosixPath(parts[0]).stem, "file"))
        check(domain not in kinds or kind == kinds[domain] == "dir",
              f"text_folder has two domains named {domain!r} in {path} (a sub-folder and a "
              "file, or files that differ only in their suffix); rename one")
        kinds[domain] = kind
        out.setdefault(domain, []).append(name)
    return out


def _utf8(data: bytes, path) -> None:
    nul = data.find(b"\x00")
    check(nul < 0, f"text_folder: {path} holds binary data (a NUL byte at offset {nul}); "
                   "remove it from the corpus")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        check(False, f"text_folder: {path} is not UTF-8 text (byte 0x{data[err.start]:02x} at "
                     f"offset {err.start}); convert it (e.g. iconv -f latin1 -t utf-8) or "
                     "remove it")


@lru_cache(maxsize=8)
def _read_domain(versions: tuple) -> np.ndarray:
    """The domain's files (``(path, size, mtime_ns)`` each) as one uint8 array, checked to be
    UTF-8; cached per version of its files."""
    parts = []
    for path, _, _ in versions:
        data = Path(path).read_bytes()
        _utf8(data, Path(path))
        parts.append(data)
    tokens = np.frombuffer(b"\n".join(parts), dtype=np.uint8)
    tokens.setflags(write=False)
    return tokens


@lru_cache(maxsize=8)
def _read_members(path: str, size: int, mtime_ns: int, members: tuple) -> np.ndarray:
    """A domain's ``members`` of the archive ``path`` as one uint8 array, checked to be
    UTF-8; cached per version of the archive."""
    parts = []
    with zipfile.ZipFile(path) as zf:
        for m in members:
            data = zf.read(m)
            _utf8(data, f"{path}:{m}")
            parts.append(data)
    tokens = np.frombuffer(b"\n".join(parts), dtype=np.uint8)
    tokens.setflags(write=False)
    return tokens


@DATASETS.register("text_folder")
@dataclass(frozen=True, kw_only=True)
class TextFolder(Params):
    """Your own text corpus, one folder or file per domain, byte-level LM (256 tokens).

    One sub-folder (or file) of UTF-8 text per domain; groups = domains, split 70/15/15 each.

    ``path`` (required): the folder, or a .zip archive of it (the app uploads one);
    ``seq_len`` bytes per sequence; ``max_per_domain``
    windows at most per domain (a seeded random subset beyond). ``extra``: ``vocab_size``
    (256), ``encoding`` ("utf-8 bytes"), ``domain_bytes`` and ``domain_windows`` (per
    domain: bytes read, windows available).

    Example:
        >>> TextFolder().load(seed=0)
        Traceback (most recent call last):
        ...
        ValueError: text_folder: `path` is required (a folder with one sub-folder or text \
file per domain)
    """

    task: ClassVar[str] = LM
    # the app's default: 3 schemes x 3 seeds in well under a minute on 2 CPU cores
    default_budget: ClassVar[dict] = {"epochs": 2, "dataset_params": {"seq_len": 32,
                                                                      "max_per_domain": 300}}
    path: str = param("", help="A folder (or a .zip of one) with one sub-folder or one file "
                               "of UTF-8 text per domain (required).", file_types=("zip",),
                      folder=True)
    seq_len: int = param(64, low=2, high=1024, help="Bytes (tokens) per sequence.")
    max_per_domain: int = param(5000, low=MIN_WINDOWS, high=1_000_000, log=True,
                                help="Most sequences taken from one domain (a seeded random "
                                     "subset of a larger one).")

    def _root(self) -> tuple[Path, bool]:
        """The corpus path, and whether it is a .zip archive (else a folder)."""
        check(self.path.strip() != "", "text_folder: `path` is required (a folder with one "
                                       "sub-folder or text file per domain)")
        root = Path(self.path).expanduser()
        check(root.exists(), f"text_folder folder not found: {root}")
        archive = root.is_file() and root.suffix.lower() == ".zip"
        check(root.is_dir() or archive,
              f"text_folder path {root} is a file, not a folder or a .zip archive; give the "
              "folder (or .zip) that holds one sub-folder or text file per domain")
        return root, archive

    def _domains(self) -> dict[str, list]:
        root, archive = self._root()
        domains = zip_domains(str(root)) if archive else domain_files(root)
        what = "archive" if archive else "folder"
        check(domains, f"text_folder {what} {root} is empty (hidden entries are skipped); put "
                       "one sub-folder or text file per domain in it")
        check(len(domains) >= 2, f"text_folder found 1 domain in {root} "
                                 f"({next(iter(domains))!r}); a mixture needs at least 2: one "
                                 "sub-folder or text file per domain")
        for name, files in domains.items():
            check(files, f"text_folder domain {name!r} ({root / name}) has no files")
        return domains

    def files(self) -> list[str]:
        """Every file a run reads: their content is part of the run store's key."""
        root = Path(self.path).expanduser()
        if self.path.strip() and root.is_file() and root.suffix.lower() == ".zip":
            return [self.path]
        if not self.path.strip() or not root.is_dir():
            return []
        try:
            return [str(f) for files in domain_files(root).values() for f in files]
        except ValueError:
            return []  # loading says what is wrong

    def _tokens(self) -> dict[str, np.ndarray]:
        width, out = self.seq_len + 1, {}
        root, archive = self._root()
        for name, files in self._domains().items():
            if archive:
                st = os.stat(root)
                tokens = _read_members(str(root.resolve()), st.st_size, st.st_mtime_ns,
                                       tuple(files))
            else:
                stats = [os.stat(f) for f in files]
                tokens = _read_domain(tuple((str(f), s.st_size, s.st_mtime_ns)
                                            for f, s in zip(files, stats)))
            n = len(tokens) // width
            check(n >= MIN_WINDOWS,
                  f"text_folder domain {name!r} has {len(tokens):,} bytes: {n} sequence(s) of "
                  f"{width} bytes (seq_len + 1); each domain needs at least {MIN_WINDOWS} "
                  f"({MIN_WINDOWS * width:,} bytes): add text or lower seq_len")
            out[name] = tokens
        return out

    def preflight(self) -> None:
        """Read the folder and check every domain (``RunConfig.validate`` calls this)."""
        self._tokens()

    def load(self, seed: int) -> DatasetBundle:
        width, rng = self.seq_len + 1, np.random.default_rng([seed, 2573])
        corpus = self._tokens()
        windows, splits, sizes = [], [], {}
        for k, (name, tokens) in enumerate(corpus.items()):
            n = len(tokens) // width
            chunks = tokens[:n * width].reshape(n, width)
            if n > self.max_per_domain:
                chunks = chunks[np.sort(rng.choice(n, self.max_per_domain, replace=False))]
            windows.append(chunks.astype(np.int64))
            splits.append(domain_split(len(chunks), seed, k))
            sizes[name] = (len(tokens), n)
        data, dup_of = assemble_domains(windows, splits, [np.zeros(0, np.int64)] * len(windows))
        capped = [n for n, (_, k) in sizes.items() if k > self.max_per_domain]
        return DatasetBundle(
            name=self.name, task=LM, train=data["train"], val=data["val"], test=data["test"],
            class_names=[], group_names=list(corpus),
            notes=f"byte-level LM, {VOCAB_SIZE} tokens, windows of {self.seq_len} from "
                  f"{len(corpus)} domains of {self.path}"
                  + (f"; {', '.join(capped)} capped at {self.max_per_domain} windows" if capped
                     else "") + "; val/test hold every domain",
            extra={"vocab_size": VOCAB_SIZE, "encoding": "utf-8 bytes", "path": self.path,
                   "domain_bytes": {n: b for n, (b, _) in sizes.items()},
                   "domain_windows": {n: k for n, (_, k) in sizes.items()},
                   "duplicate_of": dup_of})


def write_example(folder: str | os.PathLike, n_bytes: int = 12_000) -> Path:
    """Write the bundled example corpus (``data/examples/text_folder``): four domains of
    about ``n_bytes`` each, from what ships with Python. ``english.txt`` (the standard
    library's documentation topics), ``code/`` (the start of two standard-library modules,
    as .py.txt: a domain made of several files), ``logs.txt`` (``text_domains``'
    boilerplate log and licence lines) and ``unicode.txt`` (Unicode character names:
    multi-byte UTF-8)."""
    import inspect
    import string
    import textwrap
    import unicodedata
    from pydoc_data.topics import topics

    from .text import _boilerplate

    root = Path(folder)
    (root / "code").mkdir(parents=True, exist_ok=True)
    english = "\n".join(topics[k] for k in sorted(topics))
    (root / "english.txt").write_text(english[:n_bytes], encoding="utf-8")
    for module in (string, textwrap):
        (root / "code" / f"{module.__name__}.py.txt").write_text(
            inspect.getsource(module)[:n_bytes // 2], encoding="utf-8")
    (root / "logs.txt").write_text(_boilerplate(n_bytes, np.random.default_rng(0)),
                                   encoding="utf-8")
    lines = [f"{chr(c)} U+{c:04X} {unicodedata.name(chr(c))}\n"
             for lo, hi in ((0xC0, 0x17F), (0x391, 0x3C9), (0x410, 0x44F), (0x4E00, 0x4E40))
             for c in range(lo, hi) if unicodedata.name(chr(c), "")]
    (root / "unicode.txt").write_text("".join(lines)[:n_bytes], encoding="utf-8")
    return root


def example_params() -> dict:
    """Params for the bundled example corpus (see ``write_example``)."""
    from .adult import data_dir

    return {"path": str(data_dir() / "examples" / "text_folder")}


TextFolder.example_params = staticmethod(example_params)  # used by the tests and the app
