"""One widget per registry parameter, chosen from the type of its default value.

Why generic: data sets, transforms, models and schemes all declare their parameters as
dataclass fields with defaults (``Registry.params``); reading those keeps the sidebar in
step with ``workbench`` without a per-class form. Number inputs carry no min/max on
purpose: ranges are checked by ``workbench`` and a bad value is reported beside the
control, with the rule it broke, instead of being silently clamped.
"""

from __future__ import annotations

import math
import sys

from workbench.schemes.static import BY_CHOICES

SHARED_CHOICES = {"by": BY_CHOICES}  # used by modules that import check_by only
PARAM_HELP = {
    "r": "KL strength r > 0: the largest weight ratio in a batch is e^(1/r) for delta = 1; "
         "smaller r gives sharper weights (paper default 1, 0.4 in larger runs).",
    "delta": "Half-width of the normalised loss range [-delta, delta].",
    "burn_in": "Fraction of training with uniform weights before reweighting starts "
               "(the authors use 1,000 of 20k steps).",
    "lam": "Temperature lambda > 0 of w = B softmax(l / lambda); large lambda is uniform.",
    "gamma": "Focusing parameter: 0 is plain cross-entropy, 2 the paper's default.",
    "variant": "'true': the gradient flows through (1 - p_t)^gamma, as in the paper; "
               "'detached': a detached weight on cross-entropy (a different method).",
    "p": "Exponent on the count: 1 inverse frequency, 0.5 square root, 0 uniform.",
    "by": "Weight (or sample) by class label or by group id.",
    "beta": "beta in [0, 1): 0 is uniform, beta -> 1 approaches inverse frequency.",
    "eta": "Step size of the exponentiated-gradient ascent on the group weights q.",
    "adjustment": "Generalisation adjustment C: adds C / sqrt(n_g) to group g's loss in "
                  "the q update.",
    "features": "Domain classifier inputs: 'quadratic' adds second-order terms (exact for "
                "Gaussian inputs), 'linear' does not, 'auto' picks by held-out log loss.",
    "tau": "Sampling temperature: 1 natural sampling, large tau class-balanced.",
    "ratio": "Largest / smallest class size (>= 1).",
    "mu": "Fraction of classes that become minority classes, in (0, 1).",
    "group": "Id of the group made rare in training.",
    "fraction": "Fraction of that group's training samples kept, in (0, 1].",
    "rate": "Fraction of training labels corrupted, in [0, 1).",
    "hidden": "Hidden layer widths, comma-separated, e.g. 128, 128.",
    "dropout": "Dropout probability after each hidden layer, in [0, 1).",
}


def choices(registry, name: str, param: str, default: str | None = None):
    """Allowed values of a string parameter, from the constant its module checks against.

    The workbench names these ``MODES``, ``GROUP_BY``, ``BY_CHOICES``, ``LABEL_NOISE_MODES``
    (``<PARAM>S``, ``<PARAM>``, ``<PARAM>_CHOICES``, ``<NAME>_<PARAM>S``); a constant counts
    only if it holds the default. None means free text.
    """
    module = sys.modules[registry.get(name).__module__]
    p, n = param.upper(), name.upper()
    for attr in (f"{p}S", p, f"{p}_CHOICES", f"{n}_{p}S"):
        values = getattr(module, attr, None)
        if isinstance(values, tuple) and (default is None or default in values):
            return values
    return SHARED_CHOICES.get(param)


def help_text(registry, name: str, param: str) -> str:
    """What the parameter does, plus the paper the method comes from (when known)."""
    cls = registry.get(name)
    source = getattr(cls, "paper", "") or registry.describe(name)
    return f"**{param}** — {PARAM_HELP.get(param, registry.describe(name))}\n\nSource: {source}"


def step_for(value: float) -> float:
    """An arrow step one decade below the value: 0.003 -> 0.0001, 1.0 -> 0.1."""
    if not value or not math.isfinite(value):
        return 0.1
    return 10.0 ** (math.floor(math.log10(abs(value))) - 1)


def param_input(container, registry, name: str, param: str, default, key: str):
    """Draw the widget for one parameter in ``container`` and return its value."""
    label, helptext = param.replace("_", " "), help_text(registry, name, param)
    options = choices(registry, name, param, default) if isinstance(default, str) else None
    if options:
        return container.selectbox(label, list(options), index=list(options).index(default),
                                   key=key, help=helptext)
    if isinstance(default, bool):
        return container.checkbox(label, value=default, key=key, help=helptext)
    if isinstance(default, int):
        return int(container.number_input(label, value=default, step=1, key=key,
                                          help=helptext))
    if isinstance(default, float):
        return float(container.number_input(label, value=default, step=step_for(default),
                                            format="%g", key=key, help=helptext))
    if isinstance(default, (list, tuple)):
        text = container.text_input(label, value=", ".join(map(str, default)), key=key,
                                    help=helptext)
        return parse_list(text, default)
    return container.text_input(label, value=str(default), key=key, help=helptext)


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
