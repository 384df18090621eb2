import subprocess
import sys
from pathlib import Path

from ossinstruct.io import read_json, read_jsonl, write_jsonl

ROOT = Path(__file__).resolve().parents[2]
CLI = [str(Path(sys.executable).with_name("ossinstruct"))]


def test_every_stage_has_help():
    for stage in ["seeds", "generate", "parse", "clean", "decontaminate", "sft", "train", "export", "evaluate"]:
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
    (tmp_path / "responses.jsonl").write_text('{"id": "a"}\n{broken\n')
    result = subprocess.run(
        [*CLI, "parse", "--input", str(tmp_path / "responses.jsonl"), "--output", str(tmp_path / "p.jsonl")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert f"{tmp_path / 'responses.jsonl'}:2: not valid JSON" in result.stderr
