"""`ossinstruct <stage> --input PATH --output PATH [--config FILE]`: each stage outside Snakemake.

Side artifacts (a stage's report, its excluded rows) are written next to `--output`, named after
it: `<output stem>_report.json`, `<output stem>_excluded.jsonl`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import stages
from .config import ConfigError, load_config
from .evaluate import EvaluationError
from .generate import TeacherError
from .io import DataError
from .models import ModelError, check_models, root_student, run_settings

STAGES = {
    "seeds": "draw seed snippets from the configured source trees (no --input)",
    "generate": "ask the teacher for a problem and solution per seed",
    "parse": "parse responses into problem/solution pairs (the paper's parser)",
    "clean": "drop duplicate seeds, problems and solutions (whitespace-free, first wins)",
    "decontaminate": "drop pairs containing benchmark strings",
    "sft": "build Magicoder instruction/response rows",
    "train": "fine-tune a run's base model on --input (--output is the model folder; --run)",
    "export": "export a fine-tuned model folder to GGUF for llama.cpp (--run names its base)",
    "evaluate": "EvalPlus on a GGUF model (--output is a folder; --benchmark)",
    "tables": "Table 1 from results/eval-style score folders (--input is that folder)",
}


def side(output: str, suffix: str) -> str:
    path = Path(output)
    stem = path.name.split(".")[0]
    return str(path.with_name(f"{stem}_{suffix}"))


def run_stage(args: argparse.Namespace, config: dict, run: str) -> None:
    """The stage that `args.stage` names, with the config's sections for it."""
    out = args.output
    match args.stage:
        case "seeds":
            stages.run_seeds(out, side(out, "report.json"), config["seeds"])
        case "generate":
            from .teacher import request_settings

            teacher = config["teacher"]
            stages.run_generate(
                args.input, out, side(out, "report.json"), request_settings(teacher), config["cache_dir"],
                args.threads, transport=teacher, price=config["prices"].get(teacher["model"]),
            )  # fmt: skip
        case "parse":
            stages.run_parse(args.input, out, side(out, "excluded.jsonl"), side(out, "report.json"), config["curate"])
        case "clean":
            stages.run_clean(args.input, out, side(out, "excluded.jsonl"), side(out, "report.json"), config["curate"])
        case "decontaminate":
            benchmarks = {k: v for k, v in config["curate"]["benchmarks"].items() if v}
            stages.run_decontaminate(
                args.input, out, side(out, "excluded.jsonl"), side(out, "report.json"), config["curate"], benchmarks
            )
        case "sft":
            stages.run_sft(args.input, out)
        case "train":
            stages.run_train(
                args.input,
                out,
                str(Path(out) / "train_metrics.json"),
                run_settings(config, run),
                config["cache_dir"],
                args.threads,
            )
        case "export":
            stages.run_export(args.input, out, root_student(config, run)[1]["gguf"], config["evaluate"]["gguf_type"])
        case "evaluate":
            folder = Path(out)
            stages.run_evaluate(
                args.benchmark,
                args.input,
                args.model_name,
                str(folder / "samples.jsonl"),
                str(folder / "scores.json"),
                {**config["evaluate"], "prompt_format": args.prompt_format},
                config["cache_dir"],
                args.threads,
                str(folder),
            )
        case "tables":
            root = Path(args.input)
            scores = {
                model.name: {path.parent.name: str(path) for path in sorted(model.glob("*/scores.json"))}
                for model in sorted(root.iterdir())
                if model.is_dir()
            }
            stages.run_table1(scores, config["tables"]["table1"]["paper"], out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ossinstruct", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="stage", required=True)
    for name, help_text in STAGES.items():
        command = commands.add_parser(name, help=help_text, description=help_text)
        if name != "seeds":
            command.add_argument("--input", required=True, help="input file or folder")
        command.add_argument("--output", required=True, help="output file or folder")
        command.add_argument("--config", default="config.yaml", help="configuration file (default: config.yaml)")
        if name == "evaluate":
            command.add_argument("--benchmark", choices=["humaneval", "mbpp"], required=True)
            command.add_argument("--model-name", default="model", help="name recorded in scores.json")
            command.add_argument(
                "--prompt-format", choices=["completion", "magicoder"], default="magicoder",
                help="completion: the task prompt continued (base models); magicoder: the template",
            )  # fmt: skip
        if name in ("train", "export"):
            command.add_argument("--run", default=None, help="a name in the config's `runs` (default: the first)")
        command.add_argument("--threads", type=int, default=2, help="CPU threads for model work")
    args = parser.parse_args(argv)
    stages.setup_logging()
    try:
        config = load_config(args.config)
        check_models(config)
        run = getattr(args, "run", None) or next(iter(config["runs"]))
        if run not in config["runs"]:
            raise ConfigError(f"--run: {run!r} is not in the config's runs ({', '.join(config['runs'])})")
    except (ConfigError, ModelError, OSError) as error:
        print(f"ossinstruct: {error}", file=sys.stderr)
        return 2
    try:
        run_stage(args, config, run)
    except (DataError, ConfigError, ModelError, OSError, TeacherError, EvaluationError) as error:
        # Bad input or an unusable teacher: the message names the file and line, the key or the URL.
        print(f"ossinstruct {args.stage}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
