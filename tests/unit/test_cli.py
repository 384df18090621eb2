import subprocess
import sys
from pathlib import Path

from ossinstruct.io import read_json, read_jsonl, write_jsonl

ROOT = Path(__file__).resolve().parents[2]
CLI = [str(Path(sys.executable).with_name("ossinstruct"))]


def test_every_stage_has_help():
    for stage in [
        "seeds",
        "generate",
        "parse",
        "clean",
        "decontaminate",
        "sft",
        "train",
        "export",
        "export-hf",
        "evaluate",
    ]:
        result = subprocess.run([*CLI, stage, "--help"], capture_output=True, text=True)
        assert result.returncode == 0 and "--output" in result.stdout, stage


def test_parse_clean_decontaminate_from_the_command_line(tmp_path):
    good = "[Problem Description]\nSum a list.\n[Solution]\ndef total(xs):\n    return sum(xs)"
    rows = [
        {"id": "a", "lang": "python", "seed": "x", "response": good, "finish_reason": "stop"},
        {"id": "b", "lang": "python", "seed": "y", "response": good, "finish_reason": "stop"},
        {"id": "c", "lang": "python", "seed": "z", "response": "nothing", "finish_reason": "stop"},
    ]
    write_jsonl(tmp_path / "responses.jsonl", rows)
    for stage, source, target in [
        ("parse", "responses.jsonl", "parsed.jsonl"),
        ("clean", "parsed.jsonl", "clean.jsonl"),
        ("decontaminate", "clean.jsonl", "final.jsonl"),
    ]:
        result = subprocess.run(
            [*CLI, stage, "--input", str(tmp_path / source), "--output", str(tmp_path / target)],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
    assert read_json(tmp_path / "parsed_report.json")["dropped_by_reason"] == {"missing_problem_header": 1}
    assert read_json(tmp_path / "clean_report.json")["dropped_by_reason"] == {"duplicate_problem": 1}
    assert len(read_jsonl(tmp_path / "final.jsonl")) == 1


def test_a_corrupt_input_line_is_named(tmp_path):
    (tmp_path / "responses.jsonl").write_text('{"id": "a", "response": "x", "finish_reason": "stop"}\n{broken\n')
    result = subprocess.run(
        [*CLI, "parse", "--input", str(tmp_path / "responses.jsonl"), "--output", str(tmp_path / "p.jsonl")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert f"{tmp_path / 'responses.jsonl'}:2: not valid JSON" in result.stderr


def stage(name: str, source, target, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [*CLI, name, "--input", str(source), "--output", str(target), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_bad_input_is_named_by_file_and_line_and_earlier_output_is_kept(tmp_path):
    earlier = tmp_path / "out.jsonl"
    earlier.write_text('{"kept": true}\n')
    missing = stage("parse", tmp_path / "nowhere.jsonl", earlier)
    assert missing.returncode == 2 and f"{tmp_path / 'nowhere.jsonl'}: file not found" in missing.stderr
    assert "Traceback" not in missing.stderr

    write_jsonl(
        tmp_path / "rows.jsonl",
        [{"id": "a", "lang": "python", "response": "x", "finish_reason": "stop"}, {"id": "b", "lang": "python"}],
    )
    parse = stage("parse", tmp_path / "rows.jsonl", earlier)
    assert (
        parse.returncode == 2
        and f"{tmp_path / 'rows.jsonl'}:2: row has no 'response', 'finish_reason' fields" in parse.stderr
    )
    write_jsonl(tmp_path / "pairs.jsonl", [{"id": "a", "seed": "s", "problem": "p"}])
    for name in ("clean", "decontaminate", "sft"):
        result = stage(name, tmp_path / "pairs.jsonl", earlier)
        assert (
            result.returncode == 2 and f"{tmp_path / 'pairs.jsonl'}:1: row has no 'solution' field" in result.stderr
        ), name
    assert earlier.read_text() == '{"kept": true}\n'


def test_an_empty_training_set_is_refused_naming_the_file(tmp_path):
    (tmp_path / "sft.jsonl").write_text("")
    result = stage("train", tmp_path / "sft.jsonl", tmp_path / "model")
    assert result.returncode == 2 and f"{tmp_path / 'sft.jsonl'}: the training set is empty" in result.stderr
    assert not (tmp_path / "model").exists()


def test_tiktoken_unavailable_fails_naming_the_setting_before_any_request(tmp_path):
    """tiktoken downloads its encoding; where it cannot (here: every download through a dead proxy, an
    empty cache), generation stops naming `teacher.tokenizer`, and never counts tokens another way."""
    import yaml

    from ..openai_server import OpenAIServer

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    write_jsonl(tmp_path / "seeds.jsonl", [{"id": "python-0", "lang": "python", "seed": "x = 1\n", "index": 0}])
    with OpenAIServer() as server:
        config["cache_dir"] = str(tmp_path / "cache")
        config["teacher"].update(
            name="remote",
            model="gpt-3.5-turbo-1106",
            server="openai",
            base_url=server.base_url,
            tokenizer="tiktoken:cl100k_base",
            demonstration="none",
        )
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
        dead = "http://127.0.0.1:9"
        env = {
            "OPENAI_API_KEY": "sk-test",
            "TIKTOKEN_CACHE_DIR": str(tmp_path / "tiktoken"),
            "HTTPS_PROXY": dead,
            "https_proxy": dead,
            "HTTP_PROXY": dead,
            "http_proxy": dead,
            "NO_PROXY": "127.0.0.1",
        }
        result = stage(
            "generate",
            tmp_path / "seeds.jsonl",
            tmp_path / "responses.jsonl",
            "--config",
            str(tmp_path / "config.yaml"),
            env=env,
        )
        assert server.received == []
    assert (
        result.returncode == 2 and "config key 'teacher.tokenizer': tiktoken cannot load 'cl100k_base'" in result.stderr
    )
    assert not (tmp_path / "responses.jsonl").exists()


def test_overlays_layer_on_the_embedded_default_as_snakemake_layers_configfiles():
    """`--config A --config B` is `snakemake --configfile A B`: the embedded default, then each
    overlay merged key by key (snakemake.utils.update_config), then the schema's defaults."""
    import yaml
    from snakemake.utils import update_config

    from ossinstruct.config import load_layered, validate_config

    expected = yaml.safe_load((ROOT / "config.yaml").read_text())
    update_config(expected, yaml.safe_load((ROOT / "configs/paper.yaml").read_text()))
    assert load_layered([ROOT / "configs/paper.yaml"]) == validate_config(expected)
    assert set(load_layered([ROOT / "configs/paper.yaml"])["curate"]["benchmarks"]) >= {
        "humaneval", "mbpp", "gsm8k", "apps", "ds1000",
    }  # fmt: skip


def test_the_command_line_runs_from_any_folder_with_the_paper_overlay_and_all_five_families(tmp_path):
    """Outside the checkout: the embedded default and its shipped benchmark files come from the
    package; the paper overlay adds APPS and DS-1000 to HumanEval, MBPP and GSM8K (here from local
    files, as the Hub is not reachable), so all five families decontaminate."""
    good = "[Problem Description]\nSum a list.\n[Solution]\ndef total(xs):\n    return sum(xs)"
    write_jsonl(
        tmp_path / "responses.jsonl", [{"id": "a", "lang": "python", "response": good, "finish_reason": "stop"}]
    )
    write_jsonl(tmp_path / "apps.jsonl", [{"question": "Find the longest strictly increasing run of equal parity."}])
    write_jsonl(tmp_path / "ds1000.jsonl", [{"prompt": "import numpy as np\nresult = ...\nBEGIN SOLUTION\n<code>\n"}])
    (tmp_path / "local.yaml").write_text("curate:\n  benchmarks: {apps: apps.jsonl, ds1000: ds1000.jsonl}\n")

    def run(*args):
        return subprocess.run([*CLI, *args], cwd=tmp_path, capture_output=True, text=True)

    parsed = run("parse", "--input", "responses.jsonl", "--output", "parsed.jsonl")
    assert parsed.returncode == 0, parsed.stderr
    paper = str(ROOT / "configs/paper.yaml")
    kept = run(
        "decontaminate",
        "--input",
        "parsed.jsonl",
        "--output",
        "kept.jsonl",
        "--config",
        paper,
        "--config",
        "local.yaml",
    )
    assert kept.returncode == 0, kept.stderr
    report = read_json(tmp_path / "kept_report.json")
    assert report["skipped_families"] == []
    assert set(report["strings_per_family"]) == {
        "mbpp_docstrings", "mbpp_solutions", "human_eval_docstrings", "human_eval_solutions",
        "apps_docstrings", "gsm8k_questions", "ds_1000_prompts",
    }  # fmt: skip
    assert (
        report["strings_per_family"]["human_eval_docstrings"] == 164 and len(read_jsonl(tmp_path / "kept.jsonl")) == 1
    )


def test_estimate_is_a_subcommand_that_works_from_any_folder(root, tmp_path):
    """`ossinstruct estimate`: the installed console script, run outside the checkout, finds the
    embedded default through the package and reads the overlay it is given."""
    import shutil
    import subprocess

    script = shutil.which("ossinstruct") or str(root / ".venv/bin/ossinstruct")
    paper = str(root / "configs/paper.yaml")
    run = subprocess.run([script, "estimate", "--configfile", paper], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "teacher gpt-3.5-turbo-1106: 80000 requests" in run.stdout and "  memory per GPU: " in run.stdout
    listed = subprocess.run([script, "--help"], cwd=tmp_path, capture_output=True, text=True)
    assert "estimate" in listed.stdout
