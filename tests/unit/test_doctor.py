"""`ossinstruct doctor` and the preflight before a workflow's first job: each check passes here and
fails, with its fix and the setting that overrides it, when its component is taken away (PATH,
environment), as the sandbox tests take bubblewrap away."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ossinstruct import doctor
from ossinstruct.config import load_layered
from ossinstruct.doctor import PreflightError, preflight, run_checks
from ossinstruct.server import free_port

from ..conftest import copy_project, snakemake_command
from ..openai_server import OpenAIServer


@pytest.fixture
def config():
    return load_layered()


def without(tmp_path: Path, *programs: str) -> str:
    """A PATH with every program of this one but `programs`."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    for directory in os.environ["PATH"].split(os.pathsep):
        if not Path(directory).is_dir():
            continue
        for program in Path(directory).iterdir():
            target = folder / program.name
            if program.name not in programs and not target.exists() and os.access(program, os.X_OK):
                target.symlink_to(program)
    return str(folder)


def by_name(checks) -> dict:
    return {check.name: check for check in checks}


def test_doctor_exits_0_here_with_every_check_printed():
    cli = Path(sys.executable).with_name("ossinstruct")
    run = subprocess.run([str(cli), "doctor"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    for name in ("python", "sandbox", "toolchains", "gpus", "teacher key", "teacher endpoint", "hub", "disk"):
        assert f"] {name}: " in run.stdout
    assert run.stdout.rstrip().endswith("8 checks: none failed")


def test_the_sandbox_check_runs_bubblewrap_and_names_the_override(config, tmp_path, monkeypatch):
    assert doctor.sandbox(config).status == "ok"
    monkeypatch.setenv("PATH", without(tmp_path, "bwrap"))
    check = doctor.sandbox(config)
    assert check.status == "fail" and "bubblewrap (`bwrap`) is not installed" in check.detail
    assert "sandbox.require_isolation: false" in check.fix and "apparmor_restrict_unprivileged_userns" in check.fix
    config["sandbox"]["require_isolation"] = False
    assert doctor.sandbox(config).status == "warn"  # runs without isolation, as the setting says


def test_a_missing_toolchain_fails_unless_missing_ones_are_skipped(config, tmp_path, monkeypatch):
    config["multipl_e"]["languages"] = ["java", "cpp"]
    assert doctor.toolchains(config).status == "ok"
    monkeypatch.setenv("PATH", without(tmp_path, "javac"))
    config["multipl_e"]["skip_missing_toolchains"] = False
    check = doctor.toolchains(config)
    assert check.status == "fail" and "java: `javac` not found" in check.detail
    assert "multipl_e.skip_missing_toolchains: true" in check.fix
    config["multipl_e"]["skip_missing_toolchains"] = True
    assert doctor.toolchains(config).status == "warn"


def test_gpus_asked_for_must_be_there(config):
    config["teacher"] |= {"server": "vllm", "serve": {**config["teacher"]["serve"], "gpus": 2}}
    check = doctor.gpus(config, environ={"CUDA_VISIBLE_DEVICES": "0"})
    assert check.status == "fail" and "teacher.serve.gpus: 2, but this machine has 1" in check.detail
    assert doctor.gpus(config, environ={"CUDA_VISIBLE_DEVICES": "0,1"}).status == "ok"
    assert doctor.gpus(config, rules={"train_student"}, environ={"CUDA_VISIBLE_DEVICES": ""}).status == "ok"


def test_the_key_variable_the_config_names_must_be_set(config):
    config["teacher"] |= {"server": "openai", "base_url": "http://127.0.0.1:1/v1", "api_key_env": "MY_TEACHER_KEY"}
    check = doctor.teacher_key(config, environ={})
    assert check.status == "fail" and "'teacher.api_key_env' names $MY_TEACHER_KEY" in check.detail
    assert "teacher.api_key_env: null" in check.fix
    assert doctor.teacher_key(config, environ={"MY_TEACHER_KEY": "sk-x"}).status == "ok"
    config["teacher"]["api_key_env"] = None
    assert doctor.teacher_key(config, environ={}).status == "ok"


def test_the_teacher_endpoint_answers_and_lists_the_model(config):
    config["teacher"] |= {"server": "openai", "base_url": None, "api_key_env": None, "model": "local-teacher"}
    assert "'teacher.base_url' is not set" in doctor.teacher_endpoint(config).detail
    url = f"http://127.0.0.1:{free_port()}/v1"
    config["teacher"]["base_url"] = url
    check = doctor.teacher_endpoint(config)
    assert check.status == "fail" and f"teacher at {url} is unreachable" in check.detail
    with OpenAIServer() as server:  # lists local-teacher
        config["teacher"]["base_url"] = server.base_url
        assert doctor.teacher_endpoint(config).status == "ok"
        config["teacher"]["model"] = "another-model"
        check = doctor.teacher_endpoint(config)
    assert check.status == "warn" and "['local-teacher']" in check.fix


def test_the_hub_must_be_reachable_or_prefetched(tmp_path, monkeypatch):
    overlay = tmp_path / "hub.yaml"
    overlay.write_text("students:\n  base: {path: bigcode/tiny-model}\ntables: {table1: {models: [base]}}\n")
    config = load_layered([overlay])
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    check = doctor.hub(config)
    assert check.status == "fail" and "cannot be reached" in check.detail and "hub.offline: true" in check.fix
    config["hub"]["offline"] = True
    monkeypatch.chdir(tmp_path)  # no prefetch manifest here
    check = doctor.hub(config)
    assert check.status == "fail" and "bigcode/tiny-model" in check.detail and "snakemake prefetch" in check.fix
    assert doctor.hub(load_layered()).status == "skip"  # the embedded default reads nothing from the Hub


def test_too_little_disk_and_an_old_python_fail(config):
    check = doctor.disk(config, min_free_gb=10**9)
    assert check.status == "fail" and "preflight.min_free_gb" in check.fix
    assert doctor.python_version((3, 10)).status == "fail" and doctor.python_version((3, 12)).status == "ok"


def test_the_preflight_runs_only_what_the_jobs_need(config, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", without(tmp_path, "bwrap"))
    assert by_name(run_checks(config=config, rules={"collect_seeds"}))["sandbox"].status == "skip"
    with pytest.raises(PreflightError, match=r"(?s)before any job ran.*bubblewrap.*preflight.enabled: false"):
        preflight(config, {"collect_seeds", "evaluate_model"})
    config["preflight"]["enabled"] = False
    assert preflight(config, {"evaluate_model"}) == []


def test_snakemake_refuses_before_the_first_job_that_needs_what_is_missing(tmp_path):
    """Through Snakemake's onstart: with no bubblewrap on PATH, a target that scores generated code
    stops before any job runs (not when the scoring job starts, after generation), naming the fix; a
    target that runs no generated code runs."""
    (tmp_path / "project").mkdir()
    project = copy_project(tmp_path / "project")
    path = without(tmp_path, "bwrap")
    env = {**os.environ, "PATH": path}
    target = "results/eval/smollm2-135m-instruct/humaneval/scores.json"
    run = subprocess.run(
        [*snakemake_command(), target, "--cores", "1"], cwd=project, capture_output=True, text=True, env=env
    )
    assert run.returncode != 0
    assert "preflight (ossinstruct doctor) failed before any job ran" in run.stderr + run.stdout
    assert "sandbox.require_isolation: false" in run.stderr + run.stdout
    assert not (project / "logs").exists() and not (project / "results").exists()  # no job started
    run = subprocess.run(
        [*snakemake_command(), "results/seeds/local.jsonl", "--cores", "1"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert shutil.which("bwrap")  # the machine itself has it: only this PATH lacked it
