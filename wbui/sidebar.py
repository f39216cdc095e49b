"""The sidebar: controls that describe one experiment, with errors pinned beside them.

Every control reads its choices and defaults from the ``workbench`` registries, so a new
data set, transform or scheme shows up here with no edit. Values are checked by
``workbench`` itself (``Experiment.problems``); a message is shown with ``st.error`` right
under the control it names, and the Run button stays disabled until all are fixed.
Parameters equal to their defaults are left out of the config, so labels and store keys
match what the Python API and the CLI produce for the same experiment.

Per data set defaults: a data set class may declare ``default_budget`` (epochs, batch size,
data set parameters) so that its default comparison, 3 schemes x 3 seeds, finishes within
about 30 s on two CPU cores; choosing the data set applies it (and a model and transforms
that fit its task). Larger budgets stay available: the estimate under the schemes says how
long they take here, warns above a minute and offers a smaller budget in one click.

Files: a data set parameter declared with ``file_types`` gets an upload (``upload``), one
declared with ``columns_of`` a choice among the file's columns.
"""

from __future__ import annotations

import os

import streamlit as st

from workbench import DATASETS, MODELS, SCHEMES, TRANSFORMS, RunConfig
from workbench.params import specs

from . import upload
from .budget import (
    DEFAULT_IMBALANCE,
    DEFAULT_SCHEMES,
    DEFAULT_SEEDS,
    default_budget,
    default_epochs,
    fits,
    model_for,
    offered,
    scheme_params,
)
from .experiment import MAX_SEEDS, Experiment
from .params import param_input, tidy

RUN_SPECS = {s.name: s for s in specs(RunConfig)}
# the CIFAR-LT recipe's knobs (SGD momentum, weight decay, warm-up, step / cosine decay)
SCHEDULE_FIELDS = ("momentum", "weight_decay", "lr_schedule", "warmup_epochs", "lr_milestones",
                   "lr_gamma")  # widgets and help of the run's own fields
LABELS = {"batch_size": "Batch size", "lr": "Learning rate", "selection": "Selection rule",
          "weight_decay": "Weight decay", "lr_schedule": "Learning-rate schedule",
          "warmup_epochs": "Warm-up epochs", "lr_milestones": "Step milestones (epochs)",
          "lr_gamma": "Step factor (gamma)"}


def _dataset_changed() -> None:
    """A newly chosen data set starts from its own defaults: its budget, a model and
    transforms that fit its task, and per-group (not per-class) weights without classes."""
    ss = st.session_state
    name = ss["dataset"]
    budget, task = default_budget(name), DATASETS.get(name).task
    ss["epochs"] = default_epochs(name)
    ss["batch_size"] = int(budget.get("batch_size", RUN_SPECS["batch_size"].default))
    start = {**budget.get("dataset_params", {}),
             **getattr(DATASETS.get(name), "example_params", dict)()}
    for spec in DATASETS.spec(name):
        if spec.columns_of:  # chosen among the file's columns when drawn
            continue
        value = start.get(spec.name, spec.default)
        ss[f"data_{name}_{spec.name}"] = ", ".join(map(str, value)) \
            if spec.kind == "list" else value
    ss["model"] = model_for(task, ss.get("model", "mlp"),
                            getattr(DATASETS.get(name), "inputs", "vector"))
    if "imbalance" in budget:  # e.g. CIFAR-LT is long-tailed already: no extra long tail
        ss.imbalance_ids = {}
    ss.imbalance_ids = {t: k for t, k in ss.get("imbalance_ids", {}).items()
                        if fits(ss.get(f"imb{t}_kind", k), task)}
    for scheme in ss.get("schemes", []):
        for k, v in scheme_params(scheme, task).items():
            ss[f"sch_{scheme}_{k}"] = v


def experiment_controls() -> tuple[Experiment, dict[str, str]]:
    """Draw every control; return the experiment and its problems (control -> message)."""
    bar = st.sidebar
    slots: dict[str, st.delta_generator.DeltaGenerator] = {}

    bar.subheader("Data")
    datasets = offered(DATASETS)
    dataset = bar.selectbox("Data set", datasets, index=datasets.index("digits"),
                            key="dataset", on_change=_dataset_changed, help=" \n".join(
                                f"**{d}**: {DATASETS.describe(d)}" for d in datasets))
    bar.caption(DATASETS.describe(dataset))
    example = getattr(DATASETS.get(dataset), "example_params", dict)()  # csv: a bundled file
    start = {**default_budget(dataset).get("dataset_params", {}), **example}
    files: dict[str, str] = {}
    dataset_params = _params(bar, DATASETS, dataset, f"data_{dataset}", start=start,
                             files=files, slots=slots)
    slots["dataset"] = bar.empty()
    imbalance = _imbalance_controls(bar, slots)

    bar.subheader("Model")
    models = offered(MODELS)
    model = bar.selectbox("Model", models, index=models.index("mlp"),
                          key="model", help="linear: logistic/linear regression; mlp: ReLU "
                          "multi-layer perceptron (hidden widths as a comma-separated list).")
    model_params = _params(bar, MODELS, model, f"model_{model}")
    slots["model"] = bar.empty()

    bar.subheader("Training budget")
    fields = {}
    for name, initial in (("epochs", default_epochs(dataset)),
                          ("batch_size", default_budget(dataset).get("batch_size")),
                          ("lr", None), ("optimizer", None)):
        fields[name] = _run_field(bar, name, initial)
        slots[name] = bar.empty()
    schedule = bar.expander("Momentum, weight decay, learning-rate schedule")
    for name in SCHEDULE_FIELDS:
        fields[name] = _run_field(schedule, name)
        slots[name] = schedule.empty()

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
    if files:  # a refused or unreadable file: its message, not the data set's "required"
        problems.pop("dataset", None)
        problems.update(files)
    for where, message in problems.items():
        for path, name in st.session_state.get("upload_names", {}).items():
            message = message.replace(path, name)  # the user's file name, not the store's
        slot = slots.get(where) or slots.get(where.split(":")[0]) or slots["general"]
        slot.error(message, icon=":material/error:")
    return exp, problems


def _run_field(bar, name: str, initial=None):
    """The widget of one of the run's own fields (key = the field's name), from its spec."""
    spec = RUN_SPECS[name]
    return param_input(bar, spec, spec.default if initial is None else initial, name,
                       label=LABELS.get(name, name.capitalize()))


def _params(bar, registry, name: str, prefix: str, start: dict | None = None,
            files: dict | None = None, slots: dict | None = None) -> dict:
    """A widget per declared parameter of ``name`` (``registry.spec``; initial values
    ``start`` or the defaults); only values that differ from the defaults are kept. A
    parameter with ``file_types`` gets an upload, one with ``columns_of`` the file's
    columns; a file's problem goes to ``files`` under ``file:<param>``."""
    out, source = {}, getattr(registry.get(name), "paper", "") or registry.describe(name)
    paths: dict[str, str] = {}
    for spec in registry.spec(name):
        initial = (start or {}).get(spec.name, spec.default)
        key = f"{prefix}_{spec.name}"
        if spec.file_types:
            value = paths[spec.name] = _file_input(bar, spec, initial, key, files)
            if slots is not None:
                slots[f"file:{spec.name}"] = bar.empty()
        elif spec.folder:  # a folder on this machine (CIFAR's root): guarded like a path
            value = param_input(bar, spec, initial, key, source)
            why = upload.refusal(str(value), (), _store_root(), folder=True)
            if why:  # never read: the run would use the host's data folder instead
                value = spec.default
                if files is not None:
                    files[f"file:{spec.name}"] = why
            if slots is not None:
                slots[f"file:{spec.name}"] = bar.empty()
        elif spec.columns_of and paths.get(spec.columns_of):
            value = _column_input(bar, spec, initial, key, paths[spec.columns_of], source)
        else:
            value = param_input(bar, spec, initial, key, source)
        if value != spec.default:
            out[spec.name] = tidy(value)
    return out


def _store_root():
    from .runner import store

    return store().root


def _file_input(bar, spec, initial: str, key: str, files: dict | None) -> str:
    """Upload (saved content-addressed in the store), or a typed path where allowed; the
    path to use ('' when refused: then the reason is in ``files``)."""
    from .runner import store

    types = tuple(spec.file_types)
    up = bar.file_uploader(f"{spec.name.replace('_', ' ')}: upload a file", key=f"{key}_upload",
                           type=sorted({t.rsplit(".", 1)[-1] for t in types}),
                           help=f"{spec.help} Allowed: " + ", ".join("." + t for t in types)
                           + ". The file is kept in the run store under its content's hash, "
                           "so its runs are found again whenever the same file is uploaded.")
    if up is not None:
        try:
            path = str(upload.save_upload(up.getvalue(), up.name, store().root, types))
        except ValueError as err:
            (files if files is not None else {})[f"file:{spec.name}"] = str(err)
            return ""
        bar.caption(f"Using the uploaded **{up.name}** ({len(up.getvalue()) / 1024:.0f} kB).")
        st.session_state.setdefault("upload_names", {})[path] = up.name  # for messages
    else:
        allowed = upload.server_paths_allowed()
        path = bar.text_input("or a file on the server" if allowed else
                              "file on the server (off here: upload instead)",
                              value=str(initial), key=key,
                              help="A path on the machine the app runs on. Reading server "
                              f"files is {'allowed' if allowed else 'off'} here "
                              f"({upload.ALLOW_ENV}=1 allows it); the bundled example is "
                              "always allowed.")
        why = upload.refusal(path, types, store().root, folder=spec.folder)
        if why:
            (files if files is not None else {})[f"file:{spec.name}"] = why
            return ""
        if path and path == str(initial):
            bar.caption("The bundled example; upload your own file above.")
    if path and os.path.isfile(path):
        with bar.expander("Preview: the first rows", icon=":material/table:"):
            try:
                st.dataframe(upload.preview(path), hide_index=True)
            except ValueError as err:
                st.error(str(err), icon=":material/error:")
    return path


def _column_input(bar, spec, initial: str, key: str, path: str, source: str) -> str:
    """A choice among the columns of the file at ``path`` ('' means none)."""
    try:
        cols = upload.columns(path)
    except ValueError:
        return param_input(bar, spec, initial, key, source)
    options = ["", *cols]
    if st.session_state.get(key) not in options:  # a new file: start from the declared value
        st.session_state[key] = initial if initial in options else ""
    return bar.selectbox(spec.name.replace("_", " "), options, key=key,
                         format_func=lambda c: c or "(none)",
                         help=f"{spec.help} A column of the file above.")


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


def estimate_controls(exp: Experiment, problems: dict) -> None:
    """How long Run will take here; above a minute, a warning and a smaller budget."""
    from . import runner
    from .estimate import WARN_S, duration, estimate, smaller_epochs

    bar, ss = st.sidebar, st.session_state
    if problems:
        return
    if runner.training() or "started" not in ss:
        bar.caption(":material/timer: Training: the bar above the views shows the time left.")
        return
    try:
        configs = exp.configs()
        stored = runner.stored_positions(configs)
        if len(stored) == len(configs):
            bar.caption(f":material/timer: All {len(configs)} runs are stored: they load at "
                        "once.")
            return
        with bar, st.spinner("Timing a few steps on this machine..."):
            est = estimate(configs, stored)
    except ValueError as err:  # e.g. a file that fails only when loaded
        bar.caption(f":material/timer: No estimate: {err}")
        return
    ss.estimate = (exp.fingerprint, est)
    detail = (f"{est.runs} runs × {est.steps} steps, {1000 * est.per_step_s:.1f} ms per step "
              "of one seed's batch, measured on this machine")
    if est.seconds <= WARN_S:
        bar.caption(f":material/timer: Run takes **{est.text()}** ({detail}).")
        return
    import torch

    gpu = "" if torch.cuda.is_available() else " A budget this large wants a GPU."
    bar.warning(f"Run takes **{est.text()}** ({detail}).{gpu}", icon=":material/timer:")
    epochs = exp.config.epochs
    smaller = smaller_epochs(epochs, est.seconds)
    if smaller < epochs:
        bar.button(f"Use {smaller} epoch{'s' if smaller != 1 else ''} instead (about "
                   f"{duration(est.seconds * smaller / epochs)})", key="smaller_budget",
                   icon=":material/speed:", on_click=_set_epochs, args=(smaller,),
                   help="Fewer passes over the data: the other settings stay.")


def _set_epochs(n: int) -> None:
    st.session_state["epochs"] = n
