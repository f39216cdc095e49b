"""Learn: each scheme's formula, what it does in plain words, its paper, and a live plot.

Why interactive: the formulas are short but their behaviour is not obvious (how sharp is
softmax(f/r) at r = 0.4? what does min-max normalisation do to a batch of two?). Each
plot draws the weight a scheme gives to a synthetic batch as a function of the loss (or
class), with sliders for the hyper-parameters that shape it and for the batch size: every
parameter whose declaration gives a ``typical`` range (``workbench.params.param``) gets one.
"""

from __future__ import annotations

import inspect
import re

import streamlit as st

from workbench import SCHEMES
from workbench.figures import scheme_card, scheme_kind, weight_function
from workbench.figures.learn import stacked_formula

from .common import chart

MIN_MAX = ("linupper", "quadratic", "extremes")


def show(results, experiment) -> None:
    st.subheader("Learn: the weighting schemes")
    st.caption("Weights multiply per-sample losses; the loop forms mean_i(w_i · l_i). They "
               "are detached and ≥ 0, and normalised as the paper defines them: **fixed** "
               "weights (one per sample, computed once) have mean 1 over the training set "
               "and are never rescaled per batch; **per-batch** weights are computed from "
               "the batch and have batch mean 1; **group** schemes minimise "
               "Σ_g q_g · mean loss of g over the groups in the batch.")
    chosen = [name for name, _ in experiment.schemes] if experiment else []
    others = [n for n in SCHEMES.names() if n not in chosen]
    # one card (formula, words, live plot) per scheme of this comparison, plus any other
    # scheme picked below: drawing all 23 plots made this tab take seconds to open
    extra = st.multiselect(
        f"Also explain ({len(others)} other registered schemes)", others, key="learn_more",
        format_func=lambda n: f"{n} — {_blurb(n)}",
        help="The cards of the schemes in this comparison are shown; add any other.")
    for name in chosen + extra:
        tag = " · *in this comparison*" if name in chosen else ""
        with st.expander(f"**{name}**{tag} — {_blurb(name)}", expanded=True):
            _card(name)


def _blurb(name: str) -> str:
    blurb = SCHEMES.describe(name)
    return blurb if len(blurb) <= 90 else blurb[:88].rsplit(" ", 1)[0] + " …"


def _plain_words(name: str) -> str:
    """The docstring's second paragraph: how the scheme behaves, in words."""
    parts = (inspect.getdoc(SCHEMES.get(name)) or "").split("\n\n")
    text = parts[1] if len(parts) > 1 and not parts[1].startswith("Example") else ""
    return re.sub(r":\w+:`", "`", " ".join(text.split()).replace("``", "`"))


@st.cache_data(show_spinner=False, max_entries=256)
def _figure(name: str, params: tuple, batch: int):
    """weight_function, cached: the Learn tab draws one plot per registered scheme."""
    return weight_function(name, params=dict(params), batch_size=batch)


@st.fragment
def _card(name: str) -> None:
    card = scheme_card(name)
    if card.get("formula"):
        st.latex(stacked_formula(card["formula"]))
    st.markdown(f"**{card.get('summary') or SCHEMES.describe(name)}** {_plain_words(name)}")
    st.caption(f"Paper: *{card.get('paper') or 'n/a'}*")
    if card.get("normalisation_text"):
        st.caption(f"Normalisation — **{card['normalisation']}**: {card['normalisation_text']}.")
    defaults = dict(card.get("params") or SCHEMES.params(name))
    params, cols = {}, st.columns(3)
    shown = [s for s in SCHEMES.spec(name) if s.typical and s.kind in ("int", "float")]
    for i, spec in enumerate(shown):
        lo, hi, step = spec.typical
        value = min(max(float(defaults.get(spec.name, spec.default)), lo), hi)
        params[spec.name] = cols[i % 3].slider(spec.name, float(lo), float(hi), value,
                                               float(step), key=f"learn_{name}_{spec.name}",
                                               help=spec.help)
    batch = 32
    kind = card.get("kind") or scheme_kind(SCHEMES.create(name))
    if kind in ("loss", "confidence"):  # weights computed within a batch
        batch = cols[len(shown) % 3].slider("batch size B", 2, 128, 32, key=f"learn_{name}_B",
                                            help="Size of the synthetic batch the weights "
                                            "are computed over.")
    chart(_figure(name, tuple(sorted(params.items())), batch), f"learn_{name}_plot")
    if name in MIN_MAX:
        st.info("**B = 2 degeneracy.** The batch losses are min-max normalised to "
                "[−δ, δ], so with two samples one always maps to −δ and the other to +δ: "
                "the weights are fixed whatever the losses are. Set B = 2 above to see it. "
                "Tiny batches make these schemes a constant reweighting of the worse sample.",
                icon=":material/lightbulb:")
