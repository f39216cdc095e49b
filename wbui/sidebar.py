"""The sidebar: controls that describe one experiment, with errors pinned beside them.

Every control reads its choices and defaults from the ``workbench`` registries, so a new
data set, transform or scheme shows up here with no edit. Values are checked by
``workbench`` itself (``Experiment.problems``); a message is shown with ``st.error`` right
under the control it names, and the Run button stays disabled until all are fixed.
Parameters equal to their defaults are left out of the config, so labels and store keys
match what the Python API and the CLI produce for the same experiment.
"""

from __future__ import annotations

import os

import streamlit as st

from workbench import DATASETS, MODELS, SCHEMES, TRANSFORMS, RunConfig
from workbench.params import specs

from .experiment import MAX_SEEDS, Experiment
from .params import param_input, tidy

DEFAULT_SCHEMES = ["uniform", "inverse_frequency", "linupper"]
DEFAULT_IMBALANCE = [{"kind": "longtail", "ratio": 50}]
DEFAULT_SEEDS = 3
RUN_SPECS = {s.name: s for s in specs(RunConfig)}  # widgets and help of the run's own fields
LABELS = {"batch_size": "Batch size", "lr": "Learning rate", "selection": "Selection rule"}


def default_epochs() -> int:
    """``RunConfig``'s epochs (one set of defaults: the CLI, the API and the app share store
    keys); ``WORKBENCH_APP_DEFAULT_EPOCHS`` shrinks it (tests use 1-3)."""
    return int(os.environ.get("WORKBENCH_APP_DEFAULT_EPOCHS", RUN_SPECS["epochs"].default))


def experiment_controls() -> tuple[Experiment, dict[str, str]]:
    """Draw every control; return the experiment and its problems (control -> message)."""
    bar = st.sidebar
    slots: dict[str, st.delta_generator.DeltaGenerator] = {}

    bar.subheader("Data")
    dataset = bar.selectbox("Data set", DATASETS.names(), index=DATASETS.names().index("digits"),
                            key="dataset", help=" \n".join(
                                f"**{d}**: {DATASETS.describe(d)}" for d in DATASETS.names()))
    bar.caption(DATASETS.describe(dataset))
    example = getattr(DATASETS.get(dataset), "example_params", dict)()  # csv: a bundled file
    if example:
        bar.caption("Prefilled with the bundled example; type the path of your own CSV file.")
    dataset_params = _params(bar, DATASETS, dataset, f"data_{dataset}", start=example)
    slots["dataset"] = bar.empty()
    imbalance = _imbalance_controls(bar, slots)

    bar.subheader("Model")
    model = bar.selectbox("Model", MODELS.names(), index=MODELS.names().index("mlp"),
                          key="model", help="linear: logistic/linear regression; mlp: ReLU "
                          "multi-layer perceptron (hidden widths as a comma-separated list).")
    model_params = _params(bar, MODELS, model, f"model_{model}")
    slots["model"] = bar.empty()

    bar.subheader("Training budget")
    fields = {}
    for name, initial in (("epochs", default_epochs()), ("batch_size", None), ("lr", None),
                          ("optimizer", None)):
        fields[name] = _run_field(bar, name, initial)
        slots[name] = bar.empty()

    bar.subheader("Schemes to compare")
    schemes = _scheme_controls(bar, slots)
    n_seeds = bar.number_input("Seeds", value=DEFAULT_SEEDS, step=1, key="seeds",
                               help=f"Training seeds 0..n-1 (init, order, sampling), n from 1 "
                               f"to {MAX_SEEDS}; the data split is fixed. The table reports "
                               "mean and a 95% t-interval.")
    slots["seeds"] = bar.empty()
    fields["selection"] = _run_field(bar, "selection")
    slots["selection"] = bar.empty()
    slots["general"] = bar.empty()

    config = RunConfig(dataset=dataset, dataset_params=dataset_params, imbalance=imbalance,
                       model=model, model_params=model_params, **fields)
    exp = Experiment(config, schemes, list(range(int(n_seeds))), n_seeds=int(n_seeds))
    problems = exp.problems()
    for where, message in problems.items():
        slot = slots.get(where) or slots.get(where.split(":")[0]) or slots["general"]
        slot.error(message, icon=":material/error:")
    return exp, problems


def _run_field(bar, name: str, initial=None):
    """The widget of one of the run's own fields (key = the field's name), from its spec."""
    spec = RUN_SPECS[name]
    return param_input(bar, spec, spec.default if initial is None else initial, name,
                       label=LABELS.get(name, name.capitalize()))


def _params(bar, registry, name: str, prefix: str, start: dict | None = None) -> dict:
    """A widget per declared parameter of ``name`` (``registry.spec``; initial values
    ``start`` or the defaults); only values that differ from the defaults are kept."""
    out, source = {}, getattr(registry.get(name), "paper", "") or registry.describe(name)
    for spec in registry.spec(name):
        initial = (start or {}).get(spec.name, spec.default)
        value = param_input(bar, spec, initial, f"{prefix}_{spec.name}", source)
        if value != spec.default:
            out[spec.name] = tidy(value)
    return out


def _imbalance_controls(bar, slots: dict) -> list[dict]:
    """Add/remove any number of transforms, applied in order to the training split only."""
    ss = st.session_state
    if "imbalance_ids" not in ss:  # id -> the kind a new row starts with
        ss.imbalance_ids, ss.imbalance_next = {0: DEFAULT_IMBALANCE[0]["kind"]}, 1
    bar.subheader("Imbalance")
    specs, names = [], TRANSFORMS.names()
    for i, (tid, first_kind) in enumerate(ss.imbalance_ids.items()):
        left, right = bar.columns([4, 1], vertical_alignment="bottom")
        kind = left.selectbox(f"Transform {i + 1}", names, index=names.index(first_kind),
                              key=f"imb{tid}_kind", help="Applied to the training split only; "
                              "val/test keep their profile. Long-tail: Cao et al. 2019 (LDAM); "
                              "step: Buda et al. 2018; group_minority: Sagawa et al. 2020; "
                              "label_noise: Patrini et al. 2017.")
        right.button(":material/delete:", key=f"imb{tid}_remove", help="Remove this transform",
                     on_click=_remove_transform, args=(tid,))
        bar.caption(TRANSFORMS.describe(kind))
        start = {k: float(v) for k, v in DEFAULT_IMBALANCE[0].items() if k != "kind"} \
            if tid == 0 and kind == DEFAULT_IMBALANCE[0]["kind"] else None
        specs.append({"kind": kind, **_params(bar, TRANSFORMS, kind, f"imb{tid}_{kind}", start)})
        slots[f"imbalance:{i}"] = bar.empty()
    if not ss.imbalance_ids:
        bar.caption("No transform: the data set's natural profile.")
    bar.button("Add transform", key="imb_add", on_click=_add_transform, icon=":material/add:",
               help="Several transforms compose in order, e.g. longtail then label_noise.")
    return specs


def _add_transform() -> None:
    ss = st.session_state
    ss.imbalance_ids = {**ss.imbalance_ids, ss.imbalance_next: "label_noise"}
    ss.imbalance_next += 1


def _remove_transform(tid: int) -> None:
    ss = st.session_state
    ss.imbalance_ids = {t: k for t, k in ss.imbalance_ids.items() if t != tid}


def _scheme_controls(bar, slots: dict) -> list[tuple[str, dict]]:
    """The schemes multiselect and, per chosen scheme, an expander of its hyper-parameters."""
    chosen = bar.multiselect("Schemes", SCHEMES.names(), default=DEFAULT_SCHEMES, key="schemes",
                             help="Each scheme is trained under every seed with the same data, "
                             "model, budget and selection rule. The Learn tab explains each.")
    slots["schemes"] = bar.empty()
    out = []
    for name in chosen:
        cls = SCHEMES.get(name)
        slots[f"scheme:{name}"] = bar.empty()
        with bar.expander(f"{name} · hyper-parameters", icon=":material/tune:"):
            st.caption(f"{SCHEMES.describe(name)} *{cls.paper}*")
            if not SCHEMES.params(name):
                st.caption("No hyper-parameters.")
            out.append((name, _params(st, SCHEMES, name, f"sch_{name}")))
    return out
