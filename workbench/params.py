"""Hyper-parameters declared once: default, range, choices, scale and help in one place.

Why: a parameter's rules used to live in four places (a hand-written check in
``__post_init__``, the CLI's flags, the sidebar's help and the Learn view's slider
ranges), keyed by bare names that different schemes share (``p``, ``r``, ``tau``). Here a
dataclass field says everything once, as field metadata::

    r: float = param(1.0, low=0, closed="right", help="KL strength ...")

and everything else is generated from it: validation (``check_params``, run by
``Params.__post_init__``), ``Registry.spec(name)``, the CLI's ``--help``, the app's
widgets and sliders. A value that breaks a rule raises ``ConfigError``, a ValueError that
carries ``owner`` (``"scheme linupper"``, ``"transform 1"``, ``"dataset"``, ``"model"``,
``"run"``) and ``field`` so that an app can place the message beside the right control
without reading its text.

Ranges: ``low``/``high`` with ``closed`` in ``"both"``, ``"left"``, ``"right"``,
``"neither"`` (which ends belong to the range); ``float32=(low, high, why)`` adds the
range float32 training can represent, checked after the domain (its message says why);
``typical=(low, high, step)`` is the range worth exploring (the Learn view's sliders).

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Toy(Params):
    ...     alpha: float = param(0.2, low=0, high=1, closed="right", help="fraction kept")
    >>> [s.describe() for s in specs(Toy)]
    ['a number in (0, 1]']
    >>> Toy(alpha=0)
    Traceback (most recent call last):
    ...
    workbench.params.ConfigError: Toy alpha must be a number in (0, 1], got 0
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, ClassVar

__all__ = ["ConfigError", "ParamSpec", "Params", "check_params", "kind_of", "param", "specs"]

CLOSED = ("both", "left", "right", "neither")
KINDS = ("float", "int", "bool", "str", "list")


class ConfigError(ValueError):
    """A bad configuration value: the message, and which control it belongs to.

    ``owner`` names the component ("scheme linupper", "transform 1", "dataset", "model",
    "run"); ``field`` the parameter (None when the error is about the component as a whole,
    e.g. an unknown name or a rule joining two fields)."""

    def __init__(self, message: str, owner: str = "", field: str | None = None):
        super().__init__(message)
        self.owner, self.field = owner, field

    def owned(self, owner: str) -> ConfigError:
        """The same error, re-attributed (e.g. "transform longtail" -> "transform 1")."""
        return ConfigError(str(self), owner, self.field)


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and x == x


def _is_int(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ParamSpec:
    """One declared parameter: what a CLI flag, a widget or a validator needs to know."""

    name: str
    kind: str  # one of KINDS
    default: Any
    low: float | None = None
    high: float | None = None
    closed: str = "both"
    choices: tuple | None = None
    log: bool = False
    help: str = ""
    noun: str = ""  # how the message names a valid value, e.g. "a fraction"
    item: str | None = None  # "int" or "str": the kind of a list's items
    float32: tuple | None = None  # (low, high, why): what float32 training can represent
    typical: tuple | None = None  # (low, high, step): the range worth exploring
    finite: bool = True  # False: +inf is allowed too (a limit the formula handles)
    # a path to a user's file with one of these suffixes (e.g. ("csv", "csv.gz")): the app
    # offers an upload for it instead of a text box
    file_types: tuple | None = None
    columns_of: str | None = None  # a column of the file named by this field (the app's choice)
    folder: bool = False  # a folder on the machine that trains: the app guards it like a path

    def interval(self) -> str:
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        return f"{left}{_fmt(self.low)}, {_fmt(self.high)}{right}"

    def describe(self) -> str:
        """What a valid value is, in words: 'a number in (0, 1]', 'one of class, group'."""
        if self.choices is not None and self.kind != "list":
            return "one of " + ", ".join(map(str, self.choices))
        if self.kind == "bool":
            return "True or False"
        if self.kind == "str":
            return self.noun or "a string"
        if self.kind == "list":
            items = "integers" if self.item == "int" else "names"
            what = self.noun or f"a non-empty list of {items}"
            if self.choices is not None:
                return f"{what} from {', '.join(map(str, self.choices))}"
            return what if self.noun else what + self._bounds("")
        noun = self.noun or ("an integer" if self.kind == "int" else
                             "a finite number" if self.high is None and self.finite
                             else "a number")
        return noun + self._bounds(noun) + ("" if self.finite else " (inf allowed)")

    def _bounds(self, noun: str) -> str:
        lo_in, hi_in = self.closed in ("both", "left"), self.closed in ("both", "right")
        if self.low is not None and self.high is not None:
            if self.kind in ("int", "list") and lo_in and hi_in:
                return f" in {_fmt(self.low)}..{_fmt(self.high)}"
            return f" in {self.interval()}"
        if self.low is not None:
            return f" {'>=' if lo_in else '>'} {_fmt(self.low)}"
        if self.high is not None:
            return f" {'<=' if hi_in else '<'} {_fmt(self.high)}"
        return ""

    def _in_range(self, x: float) -> bool:
        lo_in, hi_in = self.closed in ("both", "left"), self.closed in ("both", "right")
        if not math.isfinite(x):
            return not self.finite and x == math.inf and self.high is None
        if self.low is not None and not (x >= self.low if lo_in else x > self.low):
            return False
        return self.high is None or (x <= self.high if hi_in else x < self.high)

    def valid(self, value: Any) -> bool:
        """True when ``value`` obeys the declared kind, range and choices."""
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "str":
            return isinstance(value, str) and (self.choices is None or value in self.choices)
        if self.kind == "list":
            if not isinstance(value, (list, tuple)) or len(value) == 0:
                return False
            if self.item == "int":
                return all(_is_int(v) and self._in_range(v) for v in value)
            return all(isinstance(v, str) and (self.choices is None or v in self.choices)
                       for v in value)
        if self.choices is not None:
            return value in self.choices
        ok = _is_int(value) if self.kind == "int" else _is_number(value)
        return ok and self._in_range(value)

    def check(self, value: Any, label: str = "", owner: str = "") -> None:
        """Raise ConfigError (what was wrong, what is allowed) unless ``value`` is valid."""
        prefix = f"{label} {self.name}" if label else self.name
        if not self.valid(value):
            raise ConfigError(f"{prefix} must be {self.describe()}, got {value!r}",
                              owner, self.name)
        if self.float32 is not None:
            low, high, why = self.float32
            if not low <= value <= high:
                raise ConfigError(
                    f"{prefix} = {value!r} is outside what float32 training can represent "
                    f"({why}); allowed: [{low:.3g}, {high:.3g}]", owner, self.name)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def kind_of(default: Any) -> str:
    """The kind a parameter's default implies: bool, int, float, list or str."""
    return ("bool" if isinstance(default, bool) else "int" if isinstance(default, int)
            else "float" if isinstance(default, float) else
            "list" if isinstance(default, (list, tuple)) else "str")


def param(default: Any, *, low: float | None = None, high: float | None = None,
          closed: str = "both", choices: tuple | None = None, log: bool = False,
          help: str = "", kind: str | None = None, noun: str = "", item: str | None = None,
          float32: tuple | None = None, typical: tuple | None = None,
          finite: bool = True, file_types: tuple | None = None,
          columns_of: str | None = None, folder: bool = False) -> Any:
    """A dataclass field that declares its rules (see the module docstring)."""
    if kind is None:
        kind = kind_of(default)
    if closed not in CLOSED or kind not in KINDS:  # a programming error, not user input
        raise TypeError(f"param: closed must be one of {CLOSED}, kind one of {KINDS}")
    meta = {"param": dict(kind=kind, low=low, high=high, closed=closed,
                          choices=None if choices is None else tuple(choices), log=log,
                          help=help, noun=noun, item=item, float32=float32, typical=typical,
                          finite=finite,
                          file_types=None if file_types is None else tuple(file_types),
                          columns_of=columns_of, folder=folder)}
    if isinstance(default, (list, tuple)):
        items = list(default)
        return dataclasses.field(default_factory=lambda: list(items), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def specs(cls: type) -> list[ParamSpec]:
    """The declared parameters of a dataclass, in field order (undeclared fields get a kind
    from their default and no range)."""
    out = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        default = _default(f)
        meta = f.metadata.get("param")
        if meta is None:
            meta = {"kind": kind_of(default)}
        out.append(ParamSpec(name=f.name, default=default, **meta))
    return out


def check_params(obj: Any, label: str = "", owner: str = "") -> None:
    """Check every declared field of the dataclass instance ``obj``."""
    declared = _declared(type(obj))
    for spec in specs(type(obj)):
        if spec.name in declared:
            spec.check(getattr(obj, spec.name), label, owner)


def _declared(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if "param" in f.metadata}


class Params:
    """Base of every registered component: validates the declared fields on construction.

    ``Registry.register`` sets ``registry_kind`` and ``name``; errors are owned by
    "<kind> <name>" (e.g. "scheme linupper") and their messages start with the name.
    A subclass with a rule joining several fields calls ``super().__post_init__()`` and
    then ``self.require(condition, field, message)``."""

    registry_kind: ClassVar[str] = ""

    @property
    def owner(self) -> str:
        name = getattr(self, "name", type(self).__name__)
        return f"{self.registry_kind} {name}".strip()

    def __post_init__(self) -> None:
        check_params(self, getattr(self, "name", type(self).__name__), self.owner)

    def require(self, condition: bool, field: str | None, message: str) -> None:
        """Raise ConfigError(message) owned by this component unless ``condition``."""
        if not condition:
            raise ConfigError(message, self.owner, field)
