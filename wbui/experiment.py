"""The experiment the sidebar describes, and where each validation error belongs.

Why a separate, Streamlit-free module: the dashboard must never show a traceback, so every
error from ``RunConfig.validate`` is caught here and pinned to the control it is about
(``"lr"``, ``"scheme:linupper"``, ``"imbalance:0"``, ...). All checks themselves stay in
``workbench``; the control comes from the ``ConfigError``'s ``owner`` and ``field``, never
from its text. Validation is repeated with each faulty control set aside, so several bad
controls are all reported at once.

Example:
    >>> import workbench as wb
    >>> exp = Experiment(wb.RunConfig(lr=-1.0), [("linupper", {"r": -2.0})], [0])
    >>> sorted(exp.problems())
    ['lr', 'scheme:linupper']
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from workbench import RunConfig
from workbench.compare import comparison_configs

FIELDS = ("batch_size", "epochs", "lr", "weight_decay", "optimizer", "selection", "seed",
          "data_seed", "eval_every", "track", "device", "momentum", "lr_schedule",
          "warmup_epochs", "lr_milestones", "lr_gamma")
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
            kept = [i for i in range(len(cfg.imbalance)) if i not in bad_imb]
            imbalance = [cfg.imbalance[i] for i in kept]
            todo = [s for s in self.schemes if s[0] not in bad_schemes] or [("uniform", {})]
            try:
                for name, params in todo:
                    cfg.replace(imbalance=imbalance, scheme=name, scheme_params=params).validate()
                return out
            except ValueError as err:
                where = locate(err, self, kept)
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


def locate(err: ValueError, exp: Experiment, kept: list[int] | None = None) -> str:
    """Which control an error is about, from its ``owner`` and ``field``; ``kept``: the
    positions of the transforms that were validated (the others set aside).

    Example:
        >>> import workbench as wb
        >>> from workbench.params import ConfigError
        >>> e = Experiment(wb.RunConfig(imbalance=[{"kind": "longtail"}]), [("uniform", {})], [0])
        >>> locate(ConfigError("longtail ratio must be >= 1", "transform 1", "ratio"), e)
        'imbalance:0'
        >>> locate(ConfigError("lr must be a number in (0, 10], got -1", "run", "lr"), e)
        'lr'
    """
    owner = getattr(err, "owner", "") or ""
    field_ = getattr(err, "field", None)
    if owner.startswith("scheme "):
        name = owner.split(" ", 1)[1]
        return f"scheme:{name}" if name in {s for s, _ in exp.schemes} else "schemes"
    if owner.startswith("transform "):
        position = int(owner.split(" ", 1)[1]) - 1
        return f"imbalance:{kept[position] if kept is not None else position}"
    if owner in ("dataset", "model"):
        return owner
    if owner == "run" and field_ in FIELDS:
        return field_
    return "general"
