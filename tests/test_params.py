"""Hyper-parameters declared once: every registry's specs drive validation, CLI and app.

Why these tests: a field's default, range, choices and help are declared once
(``workbench.params.param``); validation, ``Registry.spec``, the CLI's flags and
``--help``, and the sidebar's widgets are generated from them. Each test is parametrised
over every registry's ``names()``, so a new data set, transform, scheme or model is
checked with no edit here. The last tests register a throwaway scheme in this file only
and show that it gets CLI flags, a spec, sidebar widgets and placed errors with no edit
anywhere else.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import ClassVar

import pytest
import torch

import workbench as wb
from wbui.budget import offered
from wbui.experiment import Experiment
from wbui.sidebar import SCHEDULE_FIELDS
from workbench import cli
from workbench.params import ConfigError, ParamSpec, param, specs
from workbench.schemes.base import Batch, Scheme, State, TrainInfo

REGISTRIES = {"dataset": wb.DATASETS, "transform": wb.TRANSFORMS, "scheme": wb.SCHEMES,
              "model": wb.MODELS}
ENTRIES = [(kind, name) for kind, reg in REGISTRIES.items() for name in reg.names()]
FIELDS = [(kind, name, s.name) for kind, name in ENTRIES
          for s in REGISTRIES[kind].spec(name)]
RUN_FIELDS = [s.name for s in specs(wb.RunConfig) if s.help]


def declared(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if "param" in f.metadata}


def bad_value(spec: ParamSpec):
    """A value the declaration rules out: outside the range, not a choice, wrong type."""
    if spec.kind == "list":
        return ["__not_a_choice__"] if spec.item == "str" else [0]
    if spec.choices is not None:
        return "__not_a_choice__"
    if spec.kind == "bool":
        return "yes"
    if spec.kind == "str":
        return 123
    if spec.low is not None:
        return spec.low - 1
    if spec.high is not None:
        return spec.high + 1
    return "not a number"


def config_for(kind: str, name: str, params: dict) -> wb.RunConfig:
    """A config that puts ``params`` on component ``name`` of ``kind``."""
    if kind == "dataset":
        return wb.RunConfig(dataset=name, dataset_params=params)
    if kind == "scheme":
        return wb.RunConfig(scheme=name, scheme_params=params)
    if kind == "model":
        return wb.RunConfig(model=name, model_params=params)
    return wb.RunConfig(imbalance=[{"kind": "longtail", "ratio": 2}, {"kind": name, **params}])


# ------------------------------------------------------------------ declarations

@pytest.mark.parametrize("kind,name", ENTRIES)
def test_every_field_is_declared_with_help(kind, name):
    cls = REGISTRIES[kind].get(name)
    fields = {f.name for f in dataclasses.fields(cls) if f.init}
    assert declared(cls) == fields, f"{kind} {name}: undeclared {fields - declared(cls)}"
    assert all(s.help for s in REGISTRIES[kind].spec(name)), f"{kind} {name} lacks help"


@pytest.mark.parametrize("kind,name,field", FIELDS)
def test_default_lies_within_the_declared_range(kind, name, field):
    spec = next(s for s in REGISTRIES[kind].spec(name) if s.name == field)
    assert spec.valid(spec.default), f"{kind} {name} {field}={spec.default!r}: {spec.describe()}"
    if spec.float32:
        assert spec.float32[0] <= spec.default <= spec.float32[1]
    if spec.typical:
        lo, hi, step = spec.typical
        assert lo < hi and step > 0 and spec.valid(lo) and spec.valid(hi)


@pytest.mark.parametrize("kind,name", ENTRIES)
def test_spec_round_trips(kind, name):
    registry = REGISTRIES[kind]
    spec = registry.spec(name)
    assert [ParamSpec(**s.as_dict()) for s in spec] == spec
    assert registry.params(name) == {s.name: s.default for s in spec}
    # creating with every default spelled out is the same object as the bare default
    assert registry.create(name, **{s.name: s.default for s in spec}) == registry.create(name)


@pytest.mark.parametrize("field", [s.name for s in specs(wb.RunConfig) if s.help])
def test_run_config_fields_are_declared_and_valid(field):
    spec = next(s for s in specs(wb.RunConfig) if s.name == field)
    assert spec.valid(spec.default) and spec.help


def test_run_config_is_keyword_only():
    with pytest.raises(TypeError):
        wb.RunConfig("digits")  # noqa - positional on purpose


# ------------------------------------------------------------------ errors carry their field

@pytest.mark.parametrize("kind,name,field", FIELDS)
def test_a_bad_value_names_its_owner_and_field(kind, name, field):
    registry = REGISTRIES[kind]
    spec = next(s for s in registry.spec(name) if s.name == field)
    value = bad_value(spec)
    with pytest.raises(ConfigError) as direct:
        registry.create(name, **{field: value})
    assert (direct.value.owner, direct.value.field) == (f"{kind} {name}", field)
    assert field in str(direct.value) and repr(value) in str(direct.value)
    with pytest.raises(ConfigError) as err:
        config_for(kind, name, {field: value}).validate()
    owner = {"dataset": "dataset", "model": "model", "scheme": f"scheme {name}",
             "transform": "transform 2"}[kind]
    assert (err.value.owner, err.value.field) == (owner, field)
    assert str(err.value) == str(direct.value)


@pytest.mark.parametrize("field", RUN_FIELDS)
def test_a_bad_run_field_names_run_and_field(field):
    spec = next(s for s in specs(wb.RunConfig) if s.name == field)
    with pytest.raises(ConfigError) as err:
        wb.RunConfig(**{field: bad_value(spec)}).validate()
    assert (err.value.owner, err.value.field) == ("run", field)
    assert str(err.value).startswith(f"{field} must be {spec.describe()}")


@pytest.mark.parametrize("config,schemes,where", [
    (wb.RunConfig(lr=-1.0), [("uniform", {})], "lr"),
    (wb.RunConfig(epochs=0), [("uniform", {})], "epochs"),
    (wb.RunConfig(), [("uniform", {}), ("linupper", {"r": 0.0})], "scheme:linupper"),
    (wb.RunConfig(imbalance=[{"kind": "label_noise", "rate": 2.0}]), [("uniform", {})],
     "imbalance:0"),
    (wb.RunConfig(dataset_params={"group_by": "colour"}), [("uniform", {})], "dataset"),
    (wb.RunConfig(model_params={"dropout": 1.0}), [("uniform", {})], "model"),
])
def test_the_app_places_each_error_from_owner_and_field(config, schemes, where):
    assert list(Experiment(config, schemes, [0]).problems()) == [where]


def test_several_bad_transforms_each_keep_their_own_control():
    cfg = wb.RunConfig(imbalance=[{"kind": "longtail", "ratio": 0}, {"kind": "step", "mu": 2},
                                  {"kind": "label_noise", "rate": -1}], lr=0.0)
    assert sorted(Experiment(cfg, [("uniform", {})], [0]).problems()) == [
        "imbalance:0", "imbalance:1", "imbalance:2", "lr"]


def test_no_inline_number_checks_are_left():
    """The declared ranges replaced the hand-written ``_is_number`` copies."""
    root = Path(wb.__file__).parent
    hits = [str(p.relative_to(root)) for p in root.rglob("*.py")
            if "def _is_number" in p.read_text() and p.name != "params.py"]
    assert hits == []


# ------------------------------------------------------------------ CLI --help

def test_cli_help_lists_flags_and_parameters_from_specs():
    parser = cli.build_parser()
    run = next(a for a in parser._subparsers._group_actions).choices["run"]
    text = " ".join(run.format_help().split())
    for spec in specs(wb.RunConfig):
        if spec.help:
            assert cli.flag(spec.name) in text and spec.describe() in text, spec.name
    for registry in REGISTRIES.values():
        for name in registry.names():
            for spec in registry.spec(name):
                assert f"{spec.name}={spec.default!r} ({spec.describe()})" in text, (name, spec)



def test_cli_help_names_the_choices_of_every_choice_flag():
    """The usage line and each flag's help list what may be chosen, from the specs and the
    registries (the usage used to say only SELECTION, DEVICE; --dataset only its default)."""
    run = next(a for a in cli.build_parser()._subparsers._group_actions).choices["run"]
    usage, text = run.format_usage(), " ".join(run.format_help().split())
    for spec in specs(wb.RunConfig):
        if spec.help and spec.choices:
            assert f"{cli.flag(spec.name)} {{{','.join(spec.choices)}}}" in usage, spec.name
    for flag, registry in (("--dataset", wb.DATASETS), ("--scheme", wb.SCHEMES),
                           ("--model", wb.MODELS)):
        assert f"{flag} NAME" in usage
        assert "one of " + ", ".join(registry.names()) in text, flag

# ------------------------------------------------------------------ a scheme in one file

@dataclasses.dataclass(frozen=True)
class Throwaway(Scheme):
    """A throwaway scheme that exists only in this test: w_i = 1 + strength * rank.

    It shows what a newcomer writes to add a scheme: one frozen dataclass with declared
    hyper-parameters and a ``weights`` method; nothing in the CLI or the app."""

    normalisation: ClassVar[str] = "per-batch"
    strength: float = param(0.5, low=0, high=10, typical=(0.0, 2.0, 0.1),
                            help="How much more the highest loss weighs than the lowest.")
    order: str = param("loss", choices=("loss", "index"), help="What the rank is taken on.")

    def weights(self, losses: torch.Tensor, batch: Batch, state: State,
                info: TrainInfo) -> torch.Tensor:
        key = losses if self.order == "loss" else batch.idx.to(losses)
        rank = key.argsort().argsort().to(losses.dtype) / max(1, losses.numel() - 1)
        w = 1 + self.strength * rank
        return w * (w.numel() / w.sum())


NAME = "throwaway_test_scheme"


@pytest.fixture
def throwaway():
    wb.SCHEMES.register(NAME)(Throwaway)
    try:
        yield NAME
    finally:
        del wb.SCHEMES._entries[NAME]  # registered in this test only


def test_a_new_scheme_gets_spec_validation_and_cli_flags(throwaway, capsys):
    assert [(s.name, s.default) for s in wb.SCHEMES.spec(throwaway)] == [("strength", 0.5),
                                                                       ("order", "loss")]
    run = cli.build_parser()._subparsers._group_actions[0].choices["run"]
    assert (f"{throwaway}: strength=0.5 (a number in [0, 10]); order='loss' (one of loss, "
            f"index)") in " ".join(run.format_help().split())
    args = ["run", "--dataset", "blobs2d", "--model", "linear", "--epochs", "1", "--no-store",
            "--scheme", throwaway]
    assert cli.main([*args, "--scheme-param", "strength=20"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"error: --scheme-param strength: {throwaway} strength must be a number in "
                   f"[0, 10], got 20")
    assert cli.main([*args, "--scheme-param", "strength=1.5", "--json"]) == 0
    assert '"status": "done"' in capsys.readouterr().out
    problems = Experiment(wb.RunConfig(), [(throwaway, {"order": "rank"})], [0]).problems()
    assert list(problems) == [f"scheme:{throwaway}"] and "one of loss, index" in str(problems)


APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def app(monkeypatch, tmp_path):
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("WORKBENCH_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("WORKBENCH_APP_DEFAULT_EPOCHS", "1")
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["started"] = True  # no first-load comparison
    return at.run()


def widget_keys(at) -> set[str]:
    """Keys of the input widgets drawn by the last run."""
    kinds = ("number_input", "selectbox", "checkbox", "text_input")
    return {w.key for kind in kinds for w in at.get(kind)}


def test_the_sidebar_offers_a_widget_for_every_spec(app, throwaway):
    app.multiselect(key="schemes").set_value(wb.SCHEMES.names()).run()
    assert not app.exception
    keys = widget_keys(app)
    assert all(name in keys for name in SCHEDULE_FIELDS)  # every run field the recipe needs
    missing = [(n, s.name) for n in wb.SCHEMES.names() for s in wb.SCHEMES.spec(n)
               if f"sch_{n}_{s.name}" not in keys]
    assert missing == []
    assert offered(wb.DATASETS) == [n for n in wb.DATASETS.names() if n != "arrays"]
    assert offered(wb.MODELS) == [n for n in wb.MODELS.names() if n != "module"]
    for name in offered(wb.DATASETS):  # arrays and module come from Python only
        app.selectbox(key="dataset").set_value(name).run()
        assert not app.exception
        keys = widget_keys(app)
        assert all(f"data_{name}_{s.name}" in keys for s in wb.DATASETS.spec(name)), name
    for name in offered(wb.MODELS):
        app.selectbox(key="model").set_value(name).run()
        keys = widget_keys(app)
        assert all(f"model_{name}_{s.name}" in keys for s in wb.MODELS.spec(name)), name
    app.selectbox(key="dataset").set_value("digits").run()
    if "imb0_kind" not in widget_keys(app):  # dropped by a data set without classes
        app.button(key="imb_add").click().run()
    row = next(k for k in widget_keys(app) if k.startswith("imb") and k.endswith("_kind"))
    row = row[:-len("_kind")]
    for name in wb.TRANSFORMS.names():
        app.selectbox(key=f"{row}_kind").set_value(name).run()
        keys = widget_keys(app)
        assert all(f"{row}_{name}_{s.name}" in keys for s in wb.TRANSFORMS.spec(name)), name
    assert not app.exception


def test_a_new_scheme_gets_sidebar_widgets_and_errors_beside_them(app, throwaway):
    app.multiselect(key="schemes").set_value(["uniform", throwaway]).run()
    app.number_input(key=f"sch_{throwaway}_strength").set_value(20.0).run()
    assert app.selectbox(key=f"sch_{throwaway}_order").options == ["loss", "index"]
    assert [e.value for e in app.error] == [
        f"{throwaway} strength must be a number in [0, 10], got 20"]
    assert app.button(key="run").disabled
    app.number_input(key=f"sch_{throwaway}_strength").set_value(1.0).run()
    assert not app.error and not app.button(key="run").disabled
    assert math.isclose(app.number_input(key=f"sch_{throwaway}_strength").value, 1.0)
