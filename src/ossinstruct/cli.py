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
from pathlib import Path

from .config import ConfigError, load_layered
from .evaluate import EvaluationError
from .io import DataError
from .logs import setup_logging
from .models import ModelError, check_models, root_student, run_settings
from .sandbox import SandboxError
from .teacher.errors import TeacherError

STAGES = {
    "seeds": "draw seed snippets from the configured source trees (no --input)",
    "generate": "ask the teacher for a problem and solution per seed",
    "parse": "parse responses into problem/solution pairs (the paper's parser)",
    "clean": "drop duplicate seeds, problems and solutions (whitespace-free, first wins)",
    "decontaminate": "drop pairs containing benchmark strings",
    "tests": "ask the teacher for tests of each curated pair (execution validation, not the paper's)",
    "validate": "run each pair's solution with its tests in the sandbox; keep those that pass",
    "sft": "build Magicoder instruction/response rows",
    "train": "fine-tune a run's base model on --input (--output is the model folder; --run)",
    "export": "export a fine-tuned model folder to GGUF for llama.cpp (--run names its base)",
    "export-hf": "a GGUF model (a file or pkg:<package>/<file>) as a Hugging Face folder, for vLLM",
    "evaluate": "EvalPlus on a GGUF model (--output is a folder; --benchmark)",
    "tables": "Table 1 from results/eval-style score folders (--input is that folder)",
}


EXPLORE = "browse every seed's journey and every completion's verdict (Datasette on results/explore/*.db)"
ESTIMATE = "what a configured reproduction will cost before it runs: teacher tokens and dollars, GPU-hours, memory"
PUBLISH = "publish a built data set as a Hugging Face dataset repository: Parquet, trl formats, card, manifest"
DOCTOR = (
    "check this machine for a configuration (sandbox, toolchains, GPUs, keys, the Hub, disk): each failure with its fix"
)


def side(output: str, suffix: str) -> str:
    path = Path(output)
    stem = path.name.split(".")[0]
    return str(path.with_name(f"{stem}_{suffix}"))


def dispatch(args: argparse.Namespace, config: dict, run: str) -> None:
    """The stage that `args.stage` names, with the config's sections for it."""
    out, given = args.output, args.input if hasattr(args, "input") else None
    report, excluded = side(out, "report.json"), side(out, "excluded.jsonl")
    match args.stage:
        case "seeds":
            from . import seeds

            seeds.run(output=out, report=report, settings=config["seeds"])
        case "generate":
            from .models import request_settings
            from .teacher import generate

            teacher = config["teacher"]
            generate.run(
                seeds=given,
                responses=out,
                report=report,
                settings=request_settings(teacher),
                cache_dir=config["cache_dir"],
                threads=args.threads,
                transport=teacher,
                price=config["prices"].get(teacher["model"]),
            )
        case "parse":
            from . import parse

            parse.run(responses=given, parsed=out, excluded=excluded, report=report, settings=config["curate"])
        case "clean":
            from . import clean

            clean.run(parsed=given, clean=out, excluded=excluded, report=report, settings=config["curate"])
        case "decontaminate":
            from . import decontaminate

            benchmarks = {k: v for k, v in config["curate"]["benchmarks"].items() if v}
            decontaminate.run(
                rows=given, kept=out, excluded=excluded, report=report, settings=config["curate"], benchmarks=benchmarks
            )
        case "tests":
            from .models import request_settings
            from .validate import generate_tests

            teacher = config["teacher"]
            generate_tests.run(
                pairs=given,
                tests=out,
                report=report,
                settings=config["validate"],
                teacher_settings=request_settings(teacher),
                cache_dir=config["cache_dir"],
                threads=args.threads,
                transport=teacher,
                price=config["prices"].get(teacher["model"]),
            )
        case "validate":
            from . import validate

            validate.run(
                rows=given,
                kept=out,
                excluded=excluded,
                report=report,
                settings=config["validate"],
                sandbox=config["sandbox"],
                threads=args.threads,
            )
        case "sft":
            from . import sft

            sft.run(decontaminated=given, output=out)
        case "train":
            from . import train

            train.run(
                sft=given,
                model_dir=out,
                metrics=str(Path(out) / "train_metrics.json"),
                settings=run_settings(config, run),
                cache_dir=config["cache_dir"],
                threads=args.threads,
            )
        case "export":
            from . import export

            export.run(
                model_dir=given,
                output=out,
                base_gguf=root_student(config, run)[1]["gguf"],
                gguf_type=config["evaluate"]["gguf_type"],
            )
        case "export-hf":
            from .export import export_hf

            export_hf(gguf=given, output=out)
        case "evaluate":
            from .evaluate import samples

            folder = Path(out)
            samples.run_evaluate(
                benchmark=args.benchmark,
                dataset=config["evaluate"]["datasets"][args.benchmark],
                model_file=given,
                model_name=args.model_name,
                samples=str(folder / "samples.jsonl"),
                scores=str(folder / "scores.json"),
                settings={**config["evaluate"], "prompt_format": args.prompt_format},
                cache_dir=config["cache_dir"],
                threads=args.threads,
                log_dir=str(folder),
            )
        case "tables":
            from . import tables

            root = Path(given)
            scores = {
                model.name: {path.parent.name: str(path) for path in sorted(model.glob("*/scores.json"))}
                for model in sorted(root.iterdir())
                if model.is_dir()
            }
            tables.run_table1(scores=scores, paper=config["tables"]["table1"]["paper"], output=out)


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
    parser = argparse.ArgumentParser(prog="ossinstruct", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="stage", required=True)
    commands.add_parser("estimate", help=ESTIMATE, add_help=False)
    commands.add_parser("doctor", help=DOCTOR, add_help=False)
    commands.add_parser("publish", help=PUBLISH, add_help=False)
    explore = commands.add_parser("explore", help=EXPLORE, description=EXPLORE)
    explore.add_argument("--folder", default="results/explore", help="the databases' folder (default: results/explore)")
    explore.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine)")
    explore.add_argument("--port", type=int, default=8001, help="port (default: 8001)")
    for name, help_text in STAGES.items():
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
            command.add_argument("--benchmark", choices=["humaneval", "mbpp"], required=True)
            command.add_argument("--model-name", default="model", help="name recorded in scores.json")
            command.add_argument(
                "--prompt-format",
                choices=["completion", "magicoder"],
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
