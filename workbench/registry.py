"""A small generic registry: name -> class, in the spirit of timm's ``register_model``.

One registry each for data sets, imbalance transforms, weighting schemes and models.
Registering a class makes it visible to the Python API, the CLI, the dashboard and the
tests parametrised over ``names()`` at once, with no other file to edit. A class declares
its parameters with ``workbench.params.param`` (default, range, choices, help);
``spec(name)`` lists them, and every error is a ``ConfigError`` that names its owner
("scheme linupper") and field.

Example:
    >>> from workbench.registry import Registry
    >>> SHAPES = Registry("shape")
    >>> @SHAPES.register("square")
    ... class Square:
    ...     def __init__(self, side=1.0):
    ...         self.side = side
    >>> SHAPES.names()
    ['square']
    >>> SHAPES.create("square", side=2.0).side
    2.0
    >>> [p.name for p in SHAPES.spec("square")]
    ['side']
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from .params import ConfigError, ParamSpec, kind_of, specs

T = TypeVar("T")


class Registry:
    """Maps names to classes; unknown names raise a ConfigError that lists valid names."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, type] = {}

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        def decorator(cls: type[T]) -> type[T]:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = cls
            cls.name = name  # type: ignore[attr-defined]
            cls.registry_kind = self.kind  # type: ignore[attr-defined]  (errors' owner)
            return cls

        return decorator

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, name: str) -> type:
        if not isinstance(name, str) or name not in self._entries:
            raise ConfigError(
                f"unknown {self.kind} {name!r}; valid {self.kind}s: {', '.join(self.names())}",
                self.kind)
        return self._entries[name]

    def create(self, name: str, **params: Any) -> Any:
        """Instantiate ``name`` with ``params``; unknown parameters give a clear error."""
        cls = self.get(name)
        allowed = self.params(name)
        unknown = sorted(set(params) - set(allowed))
        owner = f"{self.kind} {name}"
        if unknown:
            raise ConfigError(
                f"{self.kind} {name!r} has no parameter {', '.join(map(repr, unknown))}; "
                f"allowed: {', '.join(allowed) or '(none)'}", owner, unknown[0])
        try:
            return cls(**params)
        except ConfigError as err:
            raise (err if err.owner else err.owned(owner)) from None
        except TypeError as err:  # wrong types that __post_init__ did not catch
            raise ConfigError(f"{self.kind} {name!r}: {err}", owner) from None
        except ValueError as err:  # a check that names no field
            raise ConfigError(str(err), owner) from None

    def spec(self, name: str) -> list[ParamSpec]:
        """The declared parameters of ``name``: default, range, choices, help (``ParamSpec``)."""
        cls = self.get(name)
        if dataclasses.is_dataclass(cls):
            return specs(cls)
        return [ParamSpec(name=n, kind=kind_of(d), default=d)
                for n, d in self.params(name).items()]

    def params(self, name: str) -> dict[str, Any]:
        """Parameter names and defaults of ``name`` (dataclass fields or __init__ args)."""
        cls = self.get(name)
        if dataclasses.is_dataclass(cls):
            return {s.name: s.default for s in self.spec(name)}
        sig = inspect.signature(cls.__init__)
        return {
            p.name: (None if p.default is inspect.Parameter.empty else p.default)
            for p in list(sig.parameters.values())[1:]
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }

    def describe(self, name: str) -> str:
        """First paragraph of the class docstring: what it is and where it comes from."""
        doc = inspect.getdoc(self.get(name)) or ""
        return doc.split("\n\n")[0].replace("\n", " ")

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"


def check(condition: bool, message: str, owner: str = "", field: str | None = None) -> None:
    """Raise ValueError(message) unless condition: the one-line validation helper; a
    ConfigError when told which component (``owner``) and ``field`` it is about."""
    if not condition:
        raise ConfigError(message, owner, field) if owner or field else ValueError(message)
