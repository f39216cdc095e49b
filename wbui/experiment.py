"""The experiment the sidebar describes, and where each validation error belongs.

Why a separate, Streamlit-free module: the dashboard must never show a traceback, so every
ValueError from ``RunConfig.validate`` is caught here and pinned to the control it is
about (``"lr"``, ``"scheme:linupper"``, ``"imbalance:0"``, ...). All checks themselves
stay in ``workbench``; this module only reads their messages. Validation is repeated with
each faulty control set aside, so several bad controls are all reported at once.

Example:
    >>> import workbench as wb
    >>> exp = Experiment(wb.RunConfig(lr=-1.0), [("linupper", {"r": -2.0})], [0])
    >>> sorted(exp.problems())
    ['lr', 'scheme:linupper']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields

from workbench import DATASETS, MODELS, SCHEMES, TRANSFORMS, RunConfig
from workbench.compare import comparison_configs

FIELDS = ("batch_size", "epochs", "lr", "weight_decay", "optimizer", "selection", "seed",
          "data_seed", "eval_every", "track", "device")
DEFAULTS = {f.name: f.default for f in fields(RunConfig) if f.name in FIELDS}
MAX_SEEDS = 20  # the sidebar's seed count: training seeds 0..n-1


@dataclass(frozen=True)
class Experiment:
    """A base config, the (scheme, params) entries to compare, and the training seeds."""

    config: RunConfig
    schemes: list = field(default_factory=list)
    seeds: list = field(default_factory=list)
    n_seeds: int | None = None  # the count typed in the sidebar (seeds 0..n-1), if any

    def configs(self) -> list[RunConfig]:
        """Every (scheme, seed) config, validated by ``workbench.compare`` itself."""
        return comparison_configs(self.config, self.schemes, self.seeds)

    @property
    def fingerprint(self) -> str:
        """Stable id of the whole experiment (to know whether a run request changed)."""
        return "|".join([self.config.key(), repr(self.schemes), repr(self.seeds)])

    def problems(self) -> dict[str, str]:
        """Control key -> the first validation message about that control."""
        out: dict[str, str] = {}
        if not self.schemes:
            out["schemes"] = "pick at least one scheme to compare"
        n = len(self.seeds) if self.n_seeds is None else self.n_seeds
        if not 1 <= n <= MAX_SEEDS:
            out["seeds"] = f"the number of seeds must be from 1 to {MAX_SEEDS}, got {n}"
        cfg, bad_schemes, bad_imb = self.config, set(), set()
        for _ in range(32):
            imbalance = [t for i, t in enumerate(cfg.imbalance) if i not in bad_imb]
            todo = [s for s in self.schemes if s[0] not in bad_schemes] or [("uniform", {})]
            try:
                for name, params in todo:
                    cfg.replace(imbalance=imbalance, scheme=name, scheme_params=params).validate()
                return out
            except ValueError as err:
                where = locate(str(err), self, bad_imb)
                out.setdefault(where, str(err))
            if where.startswith("scheme:"):
                bad_schemes.add(where.split(":", 1)[1])
            elif where.startswith("imbalance:"):
                bad_imb.add(int(where.split(":", 1)[1]))
            elif where in DEFAULTS and getattr(cfg, where) != DEFAULTS[where]:
                cfg = cfg.replace(**{where: DEFAULTS[where]})
            elif where == "model" and cfg.model_params:
                cfg = cfg.replace(model_params={})
            else:
                return out  # data set or unplaceable errors: nothing sensible left to check
        return out


def _mentions(message: str, name: str) -> bool:
    """True if ``name`` appears as a whole word (quoted or not) in ``message``."""
    return re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", message) is not None


def locate(message: str, exp: Experiment, skip_imbalance: set | frozenset = frozenset()) -> str:
    """Which control a validation message is about, by the field or name it mentions.

    Example:
        >>> import workbench as wb
        >>> e = Experiment(wb.RunConfig(imbalance=[{"kind": "longtail"}]), [("uniform", {})], [0])
        >>> locate("longtail ratio (largest/smallest class size) must be >= 1", e)
        'imbalance:0'
        >>> locate("lr must be a number > 0, got -1", e)
        'lr'
    """
    head = message.split(";")[0]
    for name in sorted((s for s, _ in exp.schemes), key=len, reverse=True):
        if head.startswith(f"{name} ") or f"scheme {name!r}" in head:
            return f"scheme:{name}"
    m = re.match(r"imbalance\[(\d+)\]", message)
    if m:
        return f"imbalance:{m.group(1)}"
    for i, spec in enumerate(exp.config.imbalance):
        kind = spec.get("kind") if isinstance(spec, dict) else None
        if i not in skip_imbalance and isinstance(kind, str) and kind in TRANSFORMS \
                and _mentions(head, kind):
            return f"imbalance:{i}"
    if head.startswith("unknown scheme") or head.startswith("scheme "):
        return "schemes"
    if "dataset" in head or "group_by" in head or any(
            head.startswith(f"{d} ") or f"{d!r}" in head for d in DATASETS.names()):
        return "dataset"
    if head.startswith("model") or any(_mentions(head, m) for m in MODELS.names()):
        return "model"
    for name in FIELDS:
        if head.startswith(f"{name} ") or head.startswith(f"unknown {name}"):
            return name
    if any(_mentions(head, s) for s in SCHEMES.names()):
        return "schemes"
    return "general"
