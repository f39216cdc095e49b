"""Command line: ``python -m workbench list | run | compare | sweep | runs | data fetch``.

Flags mirror ``RunConfig`` and are generated from its declared fields (help, default and
range in ``--help``); data set, transform, scheme and model parameters are listed in
``--help`` from their registries' ``spec``. ``--json`` prints a machine-readable summary.
Every user error (unknown name, out-of-range value, unreadable flag) is one line on stderr
and exit code 2, never a traceback, and names the flag it came from ("--lr: ...").

Runs are saved in the run store (``--store``, default ``$WORKBENCH_STORE`` or ``./runs``)
and loaded from it when the same config (and code) was trained before; ``--force``
retrains, ``--no-store`` keeps the store out of it; ``runs`` lists what is stored.

Example:
    python -m workbench list schemes
    python -m workbench run --dataset digits --imbalance longtail:ratio=50 \\
        --scheme linupper --scheme-param r=1.0 --epochs 30 --json
    python -m workbench compare --schemes uniform,inverse_frequency --seeds 0,1,2
    python -m workbench sweep examples/sweep_imbalance.yaml --workers 2
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import textwrap
from dataclasses import fields

from .config import RunConfig
from .data import DATASETS, TRANSFORMS
from .metrics.catalog import arrow, format_value
from .models import MODELS
from .params import ConfigError, specs
from .schemes import SCHEMES

REGISTRIES = ("datasets", "transforms", "schemes", "models")


class UserError(Exception):
    """An error in what the user asked for: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's default prints usage and exits 2; keep one line
        raise UserError(f"{self.prog}: {message}")


def parse_value(text: str):
    """'3' -> 3, '0.5' -> 0.5, 'true' -> True, '[1,2]' -> [1, 2], else the string."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def strict_json(obj, indent: int | None = 2) -> str:
    """JSON that strict parsers accept: NaN and +-inf become null (``allow_nan=False``).

    Example:
        >>> strict_json({"mean": float("nan"), "n": [1, float("inf")]}, indent=None)
        '{"mean": null, "n": [1, null]}'
    """
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    # the round trip turns numpy scalars and other objects into plain JSON values first
    plain = json.loads(json.dumps(obj, default=lambda o: getattr(o, "item", lambda: str(o))()))
    return json.dumps(clean(plain), allow_nan=False, indent=indent)


def parse_pairs(items: list[str] | None, flag: str) -> dict:
    """'r=1,p=2' -> {'r': 1, 'p': 2}; a value followed by bare items is a list:
    'hidden=128,128' -> {'hidden': [128, 128]} (as 'hidden=[128,128]').

    Example:
        >>> parse_pairs(["hidden=128,64,dropout=0.1"], "--model-param")
        {'hidden': [128, 64], 'dropout': 0.1}
    """
    out = {}
    for item in items or []:
        pairs: list[list[str]] = []
        for part in filter(None, item.split(",")) if "[" not in item else [item]:
            key, sep, value = part.partition("=")
            if sep and key:
                pairs.append([key.strip(), value])
            elif not sep and pairs:  # '128' after 'hidden=128': one more list item
                pairs[-1].append(part)
            else:
                raise UserError(f"{flag} expects key=value (a list as key=[1,2]), got {part!r}")
        for key, *values in pairs:
            out[key] = parse_value(values[0] if len(values) == 1
                                   else "[" + ",".join(values) + "]")
    return out


def parse_spec(text: str, flag: str) -> tuple[str, dict]:
    """'longtail:ratio=50,order=index' -> ('longtail', {'ratio': 50, 'order': 'index'})."""
    name, _, rest = text.partition(":")
    return name.strip(), parse_pairs([rest] if rest else [], flag)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="workbench", description="The reweighting workbench.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    lst = sub.add_parser("list", help="list data sets, transforms, schemes, models")
    lst.add_argument("what", nargs="?", choices=REGISTRIES, help="only this registry")
    for name in ("run", "compare"):
        sp = sub.add_parser(name, help=f"{name} and print the summary", epilog=params_epilog(),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        _config_flags(sp)
        sp.add_argument("--json", action="store_true", help="print JSON")
        sp.add_argument("--store", help="run store folder (default: $WORKBENCH_STORE or ./runs)")
        sp.add_argument("--no-store", action="store_true",
                        help="neither load nor save runs in the store")
        sp.add_argument("--force", action="store_true", help="retrain even if stored")
        sp.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="tqdm progress bar (default: on when stderr is a terminal)")
    cmp = sub.choices["compare"]
    cmp.add_argument("--schemes", default="uniform,inverse_frequency",
                     help="semicolon- or comma-separated schemes, e.g. "
                          "'uniform;linupper:r=0.5' (params after ':')")
    cmp.add_argument("--seeds", default="0,1,2", help="comma-separated training seeds")
    _sweep_parser(sub)
    data = sub.add_parser("data", help="fetch a data set's files (nothing is downloaded "
                                       "otherwise)")
    fetch = data.add_subparsers(dest="data_command", parser_class=_Parser, required=True)
    fp = fetch.add_parser("fetch", help="download CIFAR-10 or CIFAR-100 (python version), "
                                        "check its md5, extract it")
    fp.add_argument("name", choices=("cifar10", "cifar100"))
    fp.add_argument("--root", help="folder to extract into (default: $WORKBENCH_DATA_DIR or "
                                   "the project's data/)")
    runs = sub.add_parser("runs", help="list stored runs (or export them as CSV)")
    runs.add_argument("--store", help="run store folder (default: $WORKBENCH_STORE or ./runs)")
    runs.add_argument("--dataset", help="only this data set")
    runs.add_argument("--scheme", help="only this scheme")
    runs.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    return p


def _sweep_parser(sub) -> None:
    sw = sub.add_parser("sweep", help="train a grid of configs x seeds (YAML file) into the store")
    sw.add_argument("grid_file", help="YAML with base: {RunConfig fields}, "
                                      "grid: {dotted.path: [values]}, seeds: [..]")
    sw.add_argument("--backend", choices=("local", "ray"), default="local",
                    help="local process pool (default) or Ray tasks")
    sw.add_argument("--workers", type=int, help="parallel workers (default: min(CPUs, batches))")
    sw.add_argument("--address", help="Ray cluster address (--backend ray; default: a local "
                                      "Ray instance)")
    sw.add_argument("--store", help="run store folder (default: $WORKBENCH_STORE or ./runs); "
                                    "on a cluster a path every worker sees")
    sw.add_argument("--force", action="store_true", help="retrain even if stored")
    sw.add_argument("--json", action="store_true", help="print JSON")
    sw.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                    help="tqdm bar over batches (default: on when stderr is a terminal)")


def _run_sweep(args) -> int:
    import workbench as wb
    from workbench.sweep import sweep
    from workbench.sweep_grid import read_sweep_file

    base, grid, seeds = read_sweep_file(args.grid_file)
    if args.address and args.backend != "ray":
        raise UserError("--address is a Ray cluster address; use it with --backend ray")
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    sw = sweep(base, grid=grid, seeds=seeds, backend=args.backend, store=wb.RunStore(args.store),
               force=args.force, workers=args.workers or "auto", address=args.address,
               progress=progress)
    if args.json:
        print(strict_json({"info": sw.info, "table": sw.table.to_dict(orient="records"),
                           "runs": sw.summaries.to_dict(orient="records")}))
        return 0
    print(f"sweep: {len(sw.configs)} runs ({sw.info['trained']} trained, "
          f"{sw.info['loaded']} loaded from {sw.info['store']})")
    if len(sw.table):
        print(interval_text(sw.table, [*sw.paths, "scheme"]))
    return 0


def _fetch_data(args) -> int:
    from .data.adult import data_dir
    from .data.cifar_files import FetchError, fetch

    try:
        fetch(args.name, args.root or data_dir(), log=lambda m: print(m, file=sys.stderr))
    except FetchError as err:
        raise UserError(str(err)) from None
    return 0


def interval_text(table, index: list[str]) -> str:
    """Rows ``index``, a column per metric, cells "mean ± half-width" of the 95% t-interval
    (t(0.975, n-1) std / sqrt(n)), "mean [low, high]" where the interval is cut at the
    metric's range (``clipped``), and the number of seeds n; "mean ± –" when n = 1."""
    from scipy import stats

    def cell(r) -> str:
        if r["n"] < 2 or not math.isfinite(r["std"]):
            return f"{r['mean']:.4f} ± –"
        if r.get("clipped"):  # cut at the metric's range: not symmetric, the bounds
            return f"{r['mean']:.4f} [{r['ci_low']:.4f}, {r['ci_high']:.4f}]"
        half = stats.t.ppf(0.975, r["n"] - 1) * r["std"] / math.sqrt(r["n"])
        return f"{r['mean']:.4f} ± {half:.4f}"

    t = table.assign(cell=[cell(r) for r in table.to_dict(orient="records")])
    wide = t.set_index([*index, "metric"])["cell"].unstack("metric")
    n = t.groupby(index, sort=False)["n"].max()
    wide.insert(0, "n", n.reindex(wide.index).astype(int))
    wide.columns.name = None
    return _with_arrows(wide).to_string()


def _config_flags(sp):
    d = RunConfig()
    sp.add_argument("--config", help="JSON file with RunConfig fields (flags override it)")
    sp.add_argument("--dataset", metavar="NAME",
                    help=f"data set (default {d.dataset}; one of {_names(DATASETS)})")
    sp.add_argument("--dataset-param", action="append",
                    help="data set parameter key=value (listed below)")
    sp.add_argument("--imbalance", action="append",
                    help="imbalance transform kind:key=value,... (repeatable, applied in order)")
    sp.add_argument("--scheme", metavar="NAME",
                    help=f"weighting scheme (default {d.scheme}; one of {_names(SCHEMES)})")
    sp.add_argument("--scheme-param", action="append",
                    help="scheme parameter key=value (listed below)")
    sp.add_argument("--model", metavar="NAME",
                    help=f"model (default {d.model}; one of {_names(MODELS)})")
    sp.add_argument("--model-param", action="append",
                    help="model parameter key=value (listed below)")
    for spec in specs(RunConfig):
        if spec.help:  # the declared fields of RunConfig
            sp.add_argument(flag(spec.name), dest=spec.name, type=parse_value,
                            metavar=("{" + ",".join(spec.choices) + "}" if spec.choices
                                     else spec.name.upper()),
                            help=f"{spec.help.rstrip('.')} (default {spec.default}; "
                                 f"{spec.describe()})")


def _names(registry) -> str:
    return ", ".join(registry.names())


def flag(field: str) -> str:
    """'batch_size' -> '--batch-size': the flag a RunConfig field is set with."""
    return "--" + field.replace("_", "-")


def params_epilog() -> str:
    """Every registered component's parameters, from the registries' specs."""
    lines = []
    for title, registry, how in (("data set", DATASETS, "--dataset-param"),
                                 ("imbalance transform", TRANSFORMS, "--imbalance KIND:"),
                                 ("scheme", SCHEMES, "--scheme-param"),
                                 ("model", MODELS, "--model-param")):
        lines.append(f"{title} parameters ({how} key=value):")
        for name in registry.names():
            items = [f"{s.name}={s.default!r} ({s.describe()})" for s in registry.spec(name)]
            lines.append(f"  {name}: {'; '.join(items) or '(none)'}")
    return "\n".join(lines)


def flag_of(err: ConfigError, args) -> str:
    """The flag, as the user typed it, that a ConfigError is about ('' when unknown)."""
    owner, field = err.owner or "", err.field
    if owner == "run":
        return flag(field) if field else ""
    if owner == "dataset":
        return f"--dataset-param {field}" if field else "--dataset"
    if owner == "model":
        return f"--model-param {field}" if field else "--model"
    if owner.startswith("transform "):
        return f"--imbalance #{owner.split()[1]}" + (f" {field}" if field else "")
    if owner.startswith("scheme"):
        name = owner.split(" ", 1)[1] if " " in owner else ""
        if getattr(args, "command", None) == "compare" and name != (args.scheme or "uniform"):
            return "--schemes " + name
        return f"--scheme-param {field}" if field else "--scheme"
    return ""


def config_from_args(args) -> RunConfig:
    base = {}
    if args.config:
        try:
            with open(args.config) as fh:
                base = json.load(fh)
        except (OSError, json.JSONDecodeError) as err:
            raise UserError(f"cannot read --config {args.config}: {err}") from None
        if not isinstance(base, dict):
            raise UserError(f"--config {args.config} must hold a JSON object of RunConfig "
                            f"fields (e.g. {{\"dataset\": \"digits\"}}), got a JSON "
                            f"{type(base).__name__}")
    for f in fields(RunConfig):
        value = getattr(args, f.name, None)
        if value is not None and f.name not in ("dataset_params", "scheme_params",
                                                "model_params", "imbalance"):
            base[f.name] = value
    for flag, key in (("dataset_param", "dataset_params"), ("scheme_param", "scheme_params"),
                      ("model_param", "model_params")):
        if getattr(args, flag):
            base[key] = {**base.get(key, {}),
                         **parse_pairs(getattr(args, flag), "--" + flag.replace("_", "-"))}
    if args.imbalance:
        base["imbalance"] = [{"kind": k, **p} for k, p in
                             (parse_spec(t, "--imbalance") for t in args.imbalance)]
    return RunConfig.from_dict(base).validate()


def _print_summary(run, as_json: bool) -> None:
    payload = {"scheme": run.label, "seed": run.config.seed, "status": run.status,
               "key": run.key,
               "summary": run.summary, "diverged_step": run.diverged_step,
               "message": run.message, "runtime_s": round(run.info.get("runtime_s", 0), 3),
               "config": run.config.to_dict()}
    if as_json:
        print(strict_json(payload))
        return
    print(f"{run.label}  seed={run.config.seed}  status={run.status}  "
          f"({payload['runtime_s']} s)")
    if run.message:
        print(run.message)
    for k, v in run.summary.items():
        print(f"  {k:<22} {format_value(k, v):>10} {arrow(k)}")


def _with_arrows(wide):
    """Metric columns named "accuracy ↑" / "ece ↓" (direction from the metric table)."""
    return wide.rename(columns=lambda m: m if m == "n" else f"{m} {arrow(m)}".strip())


def _print_comparison(cmp, as_json: bool) -> None:
    """Mean ± 95% half-width per scheme and metric, and the best scheme where the intervals
    separate it from every other (``figures.overview.separation``)."""
    from .figures.overview import separation, summary_wide

    if as_json:
        print(strict_json({"table": cmp.table.to_dict(orient="records"),
                           "separation": separation(cmp.table).to_dict(orient="records"),
                           "runs": cmp.summaries.to_dict(orient="records")}))
        return
    wide = summary_wide(cmp.table, digits=4, verdict=True)
    n = cmp.table.groupby("scheme", sort=False)["n"].max()
    wide.insert(0, "n", [str(int(n[s])) if s in n.index else "" for s in wide.index])
    print(_with_arrows(wide).to_string())
    print("mean ± half-width of the 95% t-interval over n seeds; [low, high] where the "
          "interval is cut at the metric's range; the last row names the best scheme only "
          "where its interval overlaps no other's")


def main(argv: list[str] | None = None) -> int:
    import workbench as wb

    try:
        args = build_parser().parse_args(argv)
        if args.command in (None, "list"):
            for reg in [args.what] if getattr(args, "what", None) else REGISTRIES:
                registry = getattr(wb, reg.upper())
                print(f"{reg}:")
                for name in registry.names():
                    text = textwrap.shorten(registry.describe(name), 90, placeholder=" ...")
                    print(f"  {name:<22} {text}")
            return 0
        if args.command == "runs":
            store = wb.RunStore(args.store)
            table = store.list(dataset=args.dataset, scheme=args.scheme)
            print(store.export_csv(table["key"].tolist()) if args.csv
                  else table.drop(columns=["config", "imbalance"], errors="ignore").to_string())
            return 0
        if args.command == "sweep":
            return _run_sweep(args)
        if args.command == "data":
            return _fetch_data(args)
        cfg = config_from_args(args)
        if args.progress is None:
            args.progress = sys.stderr.isatty()
        store = None if args.no_store else wb.RunStore(args.store)
        if args.command == "run":
            if store is None:
                run = wb.train(cfg, progress=args.progress)
            else:
                run = store.train(cfg, force=args.force, progress=args.progress)
            _print_summary(run, args.json)
            return 0 if run.status == "done" else 1
        schemes = [parse_spec(s, "--schemes") for s in _split_schemes(args.schemes)]
        seeds = [int(s) for s in _split_ints(args.seeds)]
        cmp = wb.compare(cfg, schemes=schemes, seeds=seeds, progress=args.progress,
                         store=store, force=args.force)
        _print_comparison(cmp, args.json)
        return 0
    except ConfigError as err:
        where = flag_of(err, locals().get("args"))
        print(f"error: {where + ': ' if where else ''}{err}", file=sys.stderr)
        return 2
    except (UserError, ValueError) as err:
        print(f"error: {as_typed(str(err), sys.argv[1:] if argv is None else argv)}",
              file=sys.stderr)
        return 2
    except wb.SchemeError as err:  # not the user's input, but no traceback either
        print(f"error: {err}", file=sys.stderr)
        return 1
    except (MemoryError, RuntimeError) as err:
        from .store import error_line, out_of_memory

        if not out_of_memory(err):
            raise
        print(f"error: {error_line(err)} (a smaller model or batch size needs less)",
              file=sys.stderr)
        return 1


def as_typed(message: str, argv: list[str]) -> str:
    """Name a config field by the flag the user typed: 'batch_size must ...' becomes
    '--batch-size must ...' when ``--batch-size`` is on the command line.

    Example:
        >>> as_typed("batch_size must be an integer >= 1, got 0", ["--batch-size", "0"])
        '--batch-size must be an integer >= 1, got 0'
    """
    for f in fields(RunConfig):
        flag = "--" + f.name.replace("_", "-")
        if message.startswith(f.name + " ") and any(a == flag or a.startswith(flag + "=")
                                                     for a in argv):
            return flag + message[len(f.name):]
    return message


def _split_schemes(text: str) -> list[str]:
    if ";" not in text and ":" not in text:
        return [s for s in text.split(",") if s.strip()]
    parts = [s for s in text.split(";") if s.strip()]
    for part in parts:
        name = part.partition(":")[0]
        if "," in name:
            raise UserError(f"--schemes: {name.strip()!r} is not one scheme name; when a scheme "
                            "has parameters (after ':'), separate schemes with ';', e.g. "
                            "'uniform;linupper:r=0.5'")
    return parts


def _split_ints(text: str) -> list[str]:
    parts = [s for s in str(text).split(",") if s.strip()]
    bad = [s for s in parts if not s.strip().lstrip("-").isdigit()]
    if bad or not parts:
        raise UserError(f"--seeds expects comma-separated integers, got {text!r}")
    return parts
