"""Grid expansion for ``sweep``: dotted paths into ``RunConfig.to_dict()``, every point checked.

A grid maps a dotted path to a list of values: ``"lr"``, ``"imbalance.0.ratio"`` (list
indices are numbers), ``"dataset_params.group_by"`` (a new key may be added to a dict, so a
parameter left at its default can be swept). The cartesian product of the value lists, in
the grid's order, times the seeds, makes the configs; every one is validated before
anything trains, and an error names the grid point (its paths and values) and what is
allowed.

Scheme parameters next to several schemes: when ``scheme`` or a ``scheme_params`` path is
swept, a scheme parameter that a point's scheme does not take is left out for that point
(its value shows as None), so ``{"scheme": ["uniform", "linupper"], "scheme_params.r":
[0.5, 1.0]}`` gives uniform once and linupper twice; configs that come out equal are
kept once. A scheme parameter that no scheme of the sweep takes is an error (our choice:
it catches typos, which dropping alone would hide).

Example:
    >>> from workbench.config import RunConfig
    >>> base = RunConfig(dataset="blobs2d", imbalance=[{"kind": "longtail", "ratio": 10}])
    >>> cfgs, values = expand_grid(base, {"imbalance.0.ratio": [1, 10],
    ...     "scheme": ["uniform", "linupper"], "scheme_params.r": [0.5, 1.0]}, seeds=[0])
    >>> len(cfgs), values[1]
    (6, {'imbalance.0.ratio': 1, 'scheme': 'linupper', 'scheme_params.r': 0.5})
    >>> expand_grid(base, {"imbalance.1.ratio": [2]}, seeds=[0])
    Traceback (most recent call last):
    ...
    ValueError: grid path 'imbalance.1.ratio': imbalance has 1 entry; use an index 0..0
"""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

from .compare import check_unique_seeds
from .config import RunConfig
from .registry import check
from .schemes import SCHEMES

SCHEME_PARAMS = "scheme_params"


def check_path(base: dict, path: Any) -> list[str]:
    """The parts of ``path`` once it is known to lead somewhere in ``base`` (a config dict)."""
    check(isinstance(path, str) and path != "", f"grid paths are dotted strings, got {path!r}")
    parts = path.split(".")
    check(parts[0] in base, f"unknown grid path {path!r}: {parts[0]!r} is not a config field; "
                            f"allowed: {', '.join(sorted(base))}")
    check(parts[0] != "seed", "grid path 'seed': give training seeds with seeds=[...], "
                              "not in the grid")
    node = base[parts[0]]
    for i, part in enumerate(parts[1:], start=1):
        here, last = ".".join(parts[:i]), i == len(parts) - 1
        if isinstance(node, list):
            allowed = f"use an index 0..{len(node) - 1}" if node else "it is empty"
            check(part.isdigit() and int(part) < len(node),
                  f"grid path {path!r}: {here} has {len(node)} "
                  f"entr{'y' if len(node) == 1 else 'ies'}; {allowed}")
            node = node[int(part)]
        elif isinstance(node, dict):
            check(part in node or last,
                  f"grid path {path!r}: {here} has no key {part!r}; keys: "
                  f"{', '.join(map(str, node)) or '(none)'}")
            node = node.get(part)
        else:
            raise ValueError(f"grid path {path!r}: {here} is a single value "
                             f"({type(node).__name__}), not a dict or list")
    return parts


def set_path(d: dict, parts: list[str], value: Any) -> None:
    node = d
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(parts[-1])] = copy.deepcopy(value)
    else:
        node[parts[-1]] = copy.deepcopy(value)


def _fmt(point: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in point.items()) or "(base config)"


def _check_grid(base: dict, grid: Any) -> dict[str, list[str]]:
    check(isinstance(grid, dict), f"grid must be a dict of dotted path -> list of values, "
                                  f"got {type(grid).__name__}")
    parts = {}
    for path, values in grid.items():
        parts[path] = check_path(base, path)
        check(isinstance(values, (list, tuple)) and len(values) > 0,
              f"grid path {path!r} needs a non-empty list of values, got {values!r}")
    for a, b in itertools.permutations(grid, 2):
        check(not b.startswith(a + "."), f"grid paths {a!r} and {b!r} overlap; sweep one of them")
    return parts


def _scheme_names(base: RunConfig, grid: dict) -> list[str]:
    names = list(grid.get("scheme", [base.scheme]))
    for name in names:
        try:
            SCHEMES.get(name)
        except ValueError as err:
            raise ValueError(f"grid path 'scheme': {err}") from None
    return names


def _drop_foreign_params(d: dict, taken: dict[str, set], point: dict) -> dict:
    """Leave out scheme params the point's scheme does not take; the point's shown values."""
    own = taken[d["scheme"]]
    params = d[SCHEME_PARAMS]
    d[SCHEME_PARAMS] = {k: v for k, v in params.items() if k in own}
    shown = dict(point)
    for path in point:
        if path.startswith(SCHEME_PARAMS + "."):
            key = path.split(".")[1]
            if key not in own:
                shown[path] = None
        elif path == SCHEME_PARAMS:
            shown[path] = d[SCHEME_PARAMS]
    return shown


def expand_grid(base: RunConfig, grid: dict, seeds: Any) -> tuple[list[RunConfig], list[dict]]:
    """Validated configs of grid x seeds, and the swept values of each (same order)."""
    check(isinstance(base, RunConfig), f"base config must be a RunConfig, got {base!r}")
    seeds = list(seeds) if isinstance(seeds, (list, tuple, range)) else [seeds]
    check(len(seeds) > 0 and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                 for s in seeds),
          f"seeds must be a non-empty list of integers >= 0, got {seeds!r}")
    check_unique_seeds(seeds)
    base_dict = base.to_dict()
    parts = _check_grid(base_dict, grid)
    for path, values in grid.items():  # a repeated value would run one point twice
        idents = [json.dumps(v, sort_keys=True, default=str) for v in values]
        for v, ident in zip(values, idents):
            n = idents.count(ident)
            check(n == 1, f"grid {path!r} lists {v!r} {n} times; give each value once")
    per_scheme = "scheme" in grid or any(p.split(".")[0] == SCHEME_PARAMS for p in grid)
    taken = {}
    if per_scheme:
        names = _scheme_names(base, grid)
        taken = {n: set(SCHEMES.params(n)) for n in names}
        offered = set(base.scheme_params)
        for path, values in grid.items():
            if path.startswith(SCHEME_PARAMS + "."):
                offered.add(path.split(".")[1])
            elif path == SCHEME_PARAMS:
                offered |= {k for v in values if isinstance(v, dict) for k in v}
        for key in sorted(offered):
            check(any(key in t for t in taken.values()),
                  f"grid: no scheme of the sweep ({', '.join(names)}) takes scheme parameter "
                  f"{key!r}; they take: " + "; ".join(
                      f"{n}: {', '.join(sorted(t)) or '(none)'}" for n, t in taken.items()))
    configs, values, seen = [], [], set()
    for combo in itertools.product(*grid.values()):
        point = dict(zip(grid, combo))
        d = copy.deepcopy(base_dict)
        try:
            for path, value in point.items():
                set_path(d, parts[path], value)
            shown = _drop_foreign_params(d, taken, point) if per_scheme else point
            cfg = RunConfig.from_dict(d).validate()
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            raise ValueError(f"grid point {_fmt(point)}: {err}") from None
        for seed in seeds:
            c = cfg.replace(seed=seed)
            ident = json.dumps(c.to_dict(), sort_keys=True)
            if ident not in seen:
                seen.add(ident)
                configs.append(c)
                values.append(shown)
    return configs, values


FILE_KEYS = ("base", "grid", "seeds")


def read_sweep_file(path: str) -> tuple[RunConfig, dict, list]:
    """(base config, grid, seeds) of a YAML file with ``base:``, ``grid:`` and ``seeds:``.

    Every problem (unreadable file, bad YAML, unknown keys or config fields) is a
    one-line ValueError, for the CLI's exit code 2.
    """
    import yaml

    try:
        with open(path) as fh:
            doc = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as err:
        raise ValueError(f"cannot read sweep file {path}: {' '.join(str(err).split())}") from None
    doc = {} if doc is None else doc
    check(isinstance(doc, dict), f"sweep file {path} must be a mapping with keys "
                                 f"{', '.join(FILE_KEYS)}, got {type(doc).__name__}")
    unknown = sorted(map(str, set(doc) - set(FILE_KEYS)))
    check(not unknown, f"unknown key(s) {', '.join(unknown)} in sweep file {path}; "
                       f"allowed: {', '.join(FILE_KEYS)}")
    base = doc.get("base") or {}
    check(isinstance(base, dict), f"'base' in {path} must be a mapping of RunConfig fields, "
                                  f"got {type(base).__name__}")
    seeds = doc.get("seeds", [0])
    return RunConfig.from_dict(base), doc.get("grid") or {}, seeds
