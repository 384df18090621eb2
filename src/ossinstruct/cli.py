"""`ossinstruct <stage> --input PATH --output PATH [--config FILE ...]`: each stage outside Snakemake.

The configuration is the embedded default (the package's `config.yaml`, the checkout's top-level
one) with each `--config` file layered on top in order, exactly as `snakemake --configfile A B`
layers them; the shipped data it names is found through the package, so any folder works.

Side artifacts (a stage's report, its excluded rows) are written next to `--output`, named after
it: `<output stem>_report.json`, `<output stem>_excluded.jsonl`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from .config import ConfigError, join_how, load_layered
from .evaluate import EvaluationError
from .evaluate.prompts import BENCHMARKS, PROMPT_FORMATS
from .io import DataError
from .logs import setup_logging
from .models import ModelError, check_models, root_student
from .sandbox import SandboxError
from .settings import STAGES as SETTING_STAGES
from .settings import benchmark_sources, how, stage_settings, what
from .teacher.errors import TeacherError


@dataclass(frozen=True)
class Call:
    """One command line call of a stage: its files and the configuration."""

    args: argparse.Namespace
    config: dict
    run: str

    @property
    def input(self) -> str | None:
        return getattr(self.args, "input", None)

    @property
    def output(self) -> str:
        return self.args.output

    def side(self, suffix: str) -> str:
        """A side artifact next to --output (`<output stem>_<suffix>`)."""
        path = Path(self.output)
        return str(path.with_name(f"{path.name.split('.')[0]}_{suffix}"))

    def settings(self, stage: str, **names) -> dict:
        """The stage's settings, what and how joined, as its rule and adapter give them (its
        how-sections, such as the sandbox, apart: `sandbox`)."""
        what_part, how_part = stage_settings(self.config, stage, **names)
        return join_how(what_part, {k: v for k, v in how_part.items() if k not in SETTING_STAGES[stage].how_sections})

    def sandbox(self, stage: str) -> dict:
        """Where the stage's generated code runs: the `sandbox` section, read as its adapter reads it."""
        return how(self.config, stage)["sandbox"]

    def teacher(self) -> dict:
        """The main teacher's settings and how it is reached, as generate_responses's rule gives them."""
        teacher = self.config["teacher"]["name"]
        return {
            "how": how(self.config, "generate", teacher=teacher),
            "cache_dir": self.config["cache_dir"],
            "threads": self.args.threads,
            "price": self.config["prices"].get(self.config["teacher"]["model"]),
        }


def _curated(c: Call, kept: str, stage: str) -> dict:
    return {
        "excluded": c.side("excluded.jsonl"),
        "report": c.side("report.json"),
        kept: c.output,
        "settings": c.settings(stage),
    }


def _scores(c: Call) -> dict:
    root = Path(c.input)
    models = (model for model in sorted(root.iterdir()) if model.is_dir())
    return {
        model.name: {path.parent.name: str(path) for path in sorted(model.glob("*/scores.json"))} for model in models
    }


@dataclass(frozen=True)
class Command:
    help: str
    entry: str  # "module:function" in the library
    arguments: Callable[[Call], dict]  # the entry point's keyword arguments


# Each stage as its rule runs it: the same entry point, the same settings (ossinstruct.settings).
COMMANDS = {
    "seeds": Command(
        "draw seed snippets from the configured source trees (no --input)",
        "seeds:run",
        lambda c: {"output": c.output, "report": c.side("report.json"), "settings": c.settings("seeds")},
    ),
    "generate": Command(
        "ask the teacher for a problem and solution per seed",
        "teacher.generate:run",
        lambda c: {
            "seeds": c.input,
            "responses": c.output,
            "report": c.side("report.json"),
            "settings": what(c.config, "generate", teacher=c.config["teacher"]["name"]),
            **c.teacher(),
        },
    ),
    "parse": Command(
        "parse responses into problem/solution pairs (the paper's parser)",
        "parse:run",
        lambda c: {"responses": c.input, **_curated(c, "parsed", "parse")},
    ),
    "clean": Command(
        "drop duplicate seeds, problems and solutions (whitespace-free, first wins)",
        "clean:run",
        lambda c: {"parsed": c.input, **_curated(c, "clean", "clean")},
    ),
    "decontaminate": Command(
        "drop pairs containing benchmark strings",
        "decontaminate:run",
        lambda c: {"rows": c.input, **_curated(c, "kept", "decontaminate"), "benchmarks": benchmark_sources(c.config)},
    ),
    "tests": Command(
        "ask the teacher for tests of each curated pair (execution validation, not the paper's)",
        "validate.generate_tests:run",
        lambda c: {
            "pairs": c.input,
            "tests": c.output,
            "report": c.side("report.json"),
            "settings": what(c.config, "tests"),
            "teacher_settings": what(c.config, "generate", teacher=c.config["teacher"]["name"]),
            **c.teacher(),
        },
    ),
    "validate": Command(
        "run each pair's solution with its tests in the sandbox; keep those that pass",
        "validate:run",
        lambda c: {
            "rows": c.input,
            **_curated(c, "kept", "validate"),
            "sandbox": c.sandbox("validate"),
            "threads": c.args.threads,
        },
    ),
    "sft": Command(
        "build Magicoder instruction/response rows",
        "sft:run",
        lambda c: {"decontaminated": c.input, "output": c.output},
    ),
    "train": Command(
        "fine-tune a run's base model on --input (--output is the model folder; --run)",
        "train:run",
        lambda c: {
            "sft": c.input,
            "model_dir": c.output,
            "metrics": str(Path(c.output) / "train_metrics.json"),
            "settings": what(c.config, "train", run=c.run),
            "how": how(c.config, "train", run=c.run),
            "cache_dir": c.config["cache_dir"],
            "threads": c.args.threads,
        },
    ),
    "export": Command(
        "export a fine-tuned model folder to GGUF for llama.cpp (--run names its base)",
        "export:run",
        lambda c: {
            "model_dir": c.input,
            "output": c.output,
            "base_gguf": root_student(c.config, c.run)[1]["gguf"],
            "gguf_type": c.config["evaluate"]["gguf_type"],
        },
    ),
    "export-hf": Command(
        "a GGUF model (a file or pkg:<package>/<file>) as a Hugging Face folder, for vLLM",
        "export:export_hf",
        lambda c: {"gguf": c.input, "output": c.output},
    ),
    "evaluate": Command(
        "EvalPlus on a GGUF model (--output is a folder; --benchmark)",
        "evaluate.samples:run_evaluate",
        lambda c: {
            "benchmark": c.args.benchmark,
            "dataset": c.config["evaluate"]["datasets"][c.args.benchmark],
            "model_file": c.input,
            "model_name": c.args.model_name,
            "samples": str(Path(c.output) / "samples.jsonl"),
            "scores": str(Path(c.output) / "scores.json"),
            "settings": {**c.settings("scoring"), "prompt_format": c.args.prompt_format},
            "cache_dir": c.config["cache_dir"],
            "threads": c.args.threads,
            "log_dir": c.output,
            "sandbox": c.sandbox("scoring"),
        },
    ),
    "tables": Command(
        "Table 1 from results/eval-style score folders (--input is that folder); --compare RUN_A RUN_B: two runs",
        "tables:run_table1",
        lambda c: {"scores": _scores(c), "paper": c.config["tables"]["table1"]["paper"], "output": c.output},
    ),
}


EXPLORE = "browse every seed's journey and every completion's verdict (Datasette on results/explore/*.db)"
ESTIMATE = "what a configured reproduction will cost before it runs: teacher tokens and dollars, GPU-hours, memory"
PUBLISH = "publish a built data set as a Hugging Face dataset repository: Parquet, trl formats, card, manifest"
DOCTOR = (
    "check this machine for a configuration (sandbox, toolchains, GPUs, keys, the Hub, disk): each failure with its fix"
)


def dispatch(args: argparse.Namespace, config: dict, run: str) -> None:
    """The stage that `args.stage` names, called as its rule calls it."""
    command = COMMANDS[args.stage]
    module, _, function = command.entry.partition(":")
    getattr(import_module(f"ossinstruct.{module}"), function)(**command.arguments(Call(args, config, run)))


def compare(argv: list[str]) -> int:
    """`ossinstruct tables --compare A B [--output F]`: two runs' scores side by side."""
    parser = argparse.ArgumentParser(prog="ossinstruct tables --compare", description=COMPARE)
    parser.add_argument("--compare", nargs=2, required=True, metavar=("RUN_A", "RUN_B"), help=COMPARE_RUNS)
    parser.add_argument("--output", help="also write the comparison as CSV to this file")
    args = parser.parse_args(argv)
    from .tables import compare_runs

    try:
        table = compare_runs(*args.compare)
    except (OSError, ValueError) as error:
        print(f"ossinstruct tables --compare: {error}", file=sys.stderr)
        return 2
    print(table.to_string(index=False))
    if args.output:
        table.to_csv(args.output, index=False)
    return 0


COMPARE = "two runs' pass@1 side by side, per model and benchmark, with the difference (B minus A)"
COMPARE_RUNS = "each a run's results/eval folder, or one model's folder in it (results/eval/<model>)"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["estimate"]:  # its own flags (ossinstruct estimate --help)
        from .estimate import main as estimate

        return estimate(argv[1:])
    if argv[:1] == ["publish"]:
        from .publish import main as publish

        return publish(argv[1:])
    if argv[:1] == ["doctor"]:
        from .doctor import main as doctor

        return doctor(argv[1:])
    if argv[:1] == ["tables"] and "--compare" in argv:
        return compare(argv[1:])
    parser = argparse.ArgumentParser(prog="ossinstruct", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="stage", required=True)
    commands.add_parser("estimate", help=ESTIMATE, add_help=False)
    commands.add_parser("doctor", help=DOCTOR, add_help=False)
    commands.add_parser("publish", help=PUBLISH, add_help=False)
    explore = commands.add_parser("explore", help=EXPLORE, description=EXPLORE)
    explore.add_argument("--folder", default="results/explore", help="the databases' folder (default: results/explore)")
    explore.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine)")
    explore.add_argument("--port", type=int, default=8001, help="port (default: 8001)")
    for name, help_text in ((name, command.help) for name, command in COMMANDS.items()):
        command = commands.add_parser(name, help=help_text, description=help_text)
        if name != "seeds":
            command.add_argument("--input", required=True, help="input file or folder")
        command.add_argument("--output", required=True, help="output file or folder")
        command.add_argument(
            "--config",
            action="append",
            default=[],
            metavar="FILE",
            help="an overlay of the embedded default config.yaml, as snakemake --configfile (repeatable, in order)",
        )
        if name == "evaluate":
            command.add_argument("--benchmark", choices=BENCHMARKS, required=True)
            command.add_argument("--model-name", default="model", help="name recorded in scores.json")
            command.add_argument(
                "--prompt-format",
                choices=PROMPT_FORMATS,
                default="magicoder",
                help="completion: the task prompt continued (base models); magicoder: the template",
            )
        if name in ("train", "export"):
            command.add_argument("--run", default=None, help="a name in the config's `runs` (default: the first)")
        command.add_argument("--threads", type=int, default=2, help="CPU threads for model work")
    args = parser.parse_args(argv)
    setup_logging()
    if args.stage == "explore":
        from .explore.serve import serve

        try:
            return serve(folder=args.folder, host=args.host, port=args.port)
        except DataError as error:
            print(f"ossinstruct explore: {error}", file=sys.stderr)
            return 2
    try:
        config = load_layered(args.config)
        check_models(config)
        run = getattr(args, "run", None) or next(iter(config["runs"]))
        if run not in config["runs"]:
            raise ConfigError(f"--run: {run!r} is not in the config's runs ({', '.join(config['runs'])})")
    except (ConfigError, ModelError, OSError) as error:
        print(f"ossinstruct: {error}", file=sys.stderr)
        return 2
    try:
        dispatch(args, config, run)
    except (DataError, ConfigError, ModelError, OSError, TeacherError, EvaluationError, SandboxError) as error:
        # Bad input or an unusable teacher: the message names the file and line, the key or the URL.
        print(f"ossinstruct {args.stage}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
