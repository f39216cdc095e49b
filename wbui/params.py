"""One widget per declared parameter, chosen from its spec (``Registry.spec``).

Why generic: data sets, transforms, models and schemes all declare their parameters once
(``workbench.params.param``: default, range, choices, help); reading those specs keeps the
sidebar in step with ``workbench`` without a per-class form or a table of help texts keyed
by bare names. Number inputs carry no min/max on purpose: ranges are checked by
``workbench`` and a bad value is reported beside the control, with the rule it broke,
instead of being silently clamped.
"""

from __future__ import annotations

import math


def help_text(spec, source: str = "") -> str:
    """What the parameter does, what values it takes, and the paper the method comes from."""
    text = f"**{spec.name}** — {spec.help or spec.name} Allowed: {spec.describe()}."
    return text + (f"\n\nSource: {source}" if source else "")


def step_for(value: float) -> float:
    """An arrow step one decade below the value: 0.003 -> 0.0001, 1.0 -> 0.1."""
    if not value or not math.isfinite(value):
        return 0.1
    return 10.0 ** (math.floor(math.log10(abs(value))) - 1)


def param_input(container, spec, initial, key: str, source: str = "", label: str = ""):
    """Draw the widget for one parameter ``spec`` in ``container``; return its value."""
    label, helptext = label or spec.name.replace("_", " "), help_text(spec, source)
    if spec.choices is not None and spec.kind == "str":
        options = list(spec.choices)
        index = options.index(initial) if initial in options else 0
        return container.selectbox(label, options, index=index, key=key, help=helptext)
    if spec.kind == "bool":
        return container.checkbox(label, value=bool(initial), key=key, help=helptext)
    if spec.kind == "int" and isinstance(initial, int):
        return int(container.number_input(label, value=initial, step=1, key=key,
                                          help=helptext))
    if spec.kind == "float" and isinstance(initial, (int, float)) and math.isfinite(initial):
        return float(container.number_input(label, value=float(initial),
                                            step=step_for(float(initial)), format="%g",
                                            key=key, help=helptext))
    if spec.kind == "list":
        text = container.text_input(label, value=", ".join(map(str, initial)), key=key,
                                    help=helptext)
        return parse_list(text, spec.default)
    return container.text_input(label, value=str(initial), key=key, help=helptext)


def parse_list(text: str, like=()):
    """'128, 64' -> [128, 64] (strings if the default holds strings); text that does not
    parse is returned as is, so that ``workbench`` rejects it with its own message."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if like and all(isinstance(v, str) for v in like):
        return parts
    try:
        return [int(p) for p in parts]
    except ValueError:
        return text


def tidy(value):
    """Integral floats become ints (50.0 -> 50), as a user would type them in Python."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value
