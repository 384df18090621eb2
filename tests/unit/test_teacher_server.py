"""GPU-served teachers: the vLLM and SGLang command lines, and the managed server's life cycle."""

import shutil
import sys

import pytest

from ossinstruct.server import ManagedServer, ServerError, free_port, gpu_server, sglang_command, vllm_command
from ossinstruct.teacher import request_settings

SERVE = {
    "model": "deepseek-ai/deepseek-coder-6.7b-instruct", "gpus": 2, "tensor_parallel_size": 2,
    "max_model_len": 8192, "dtype": "bfloat16", "port": None, "startup_timeout_s": 60,
    "extra_args": ["--enforce-eager"],
}  # fmt: skip


def test_vllm_command_is_built_from_config():
    command = vllm_command(SERVE, "teacher", 8011, seed=976)
    assert command[:3] == ["vllm", "serve", "deepseek-ai/deepseek-coder-6.7b-instruct"]
    pairs = dict(zip(command[3::2], command[4::2], strict=False))
    assert pairs["--tensor-parallel-size"] == "2" and pairs["--max-model-len"] == "8192"
    assert pairs["--port"] == "8011" and pairs["--host"] == "127.0.0.1" and pairs["--served-model-name"] == "teacher"
    assert pairs["--dtype"] == "bfloat16" and pairs["--seed"] == "976"
    assert command[-1] == "--enforce-eager"
    assert "--max-model-len" not in vllm_command({**SERVE, "max_model_len": None}, "t", 1)


def test_sglang_command_is_built_from_config():
    command = sglang_command(SERVE, "teacher", 8012)
    assert command[:3] == [sys.executable, "-m", "sglang.launch_server"]
    pairs = dict(zip(command[3::2], command[4::2], strict=False))
    assert pairs["--model-path"] == SERVE["model"] and pairs["--tp-size"] == "2"
    assert pairs["--context-length"] == "8192" and pairs["--port"] == "8012"


def test_a_missing_server_program_is_named(tmp_path):
    if shutil.which("vllm"):
        pytest.skip("vllm is installed here")
    with pytest.raises(ServerError, match="'vllm' is not installed"):
        with gpu_server("vllm", {**SERVE, "port": free_port()}, "teacher"):
            pass
    with pytest.raises(ServerError, match="teacher.serve.model"):
        gpu_server("vllm", {**SERVE, "model": None}, "teacher")


def test_managed_server_starts_waits_for_models_and_stops_its_process_group(tmp_path):
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "models").write_text('{"data": []}')
    port = free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)]
    with ManagedServer(command, port, tmp_path / "server.log", startup_timeout_s=30) as server:
        assert server.base_url == f"http://127.0.0.1:{port}/v1"
        assert server.process.poll() is None
    assert server.process.poll() is not None


def test_server_that_dies_fails_the_start_early(tmp_path):
    with pytest.raises(ServerError, match="exited with code 3"):
        with ManagedServer([sys.executable, "-c", "raise SystemExit(3)"], free_port(), startup_timeout_s=30):
            pass


def test_only_answer_deciding_keys_reach_the_rules_params():
    teacher = {
        "name": "t", "model": "m", "server": "vllm", "temperature": 0.0, "serve": SERVE,
        "client": {"concurrency": 64}, "batch": {}, "mode": "batch", "base_url": "x", "api_key_env": "K",
    }  # fmt: skip
    settings = request_settings(teacher)
    assert settings == {"name": "t", "model": "m", "server": "vllm", "temperature": 0.0, "serve_model": SERVE["model"]}
