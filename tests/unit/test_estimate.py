"""The cost estimate reads the config: seeds, prices, batch discount, runs and their lineage."""

import pytest

from ossinstruct.estimate import ASSUMPTIONS, estimate, main, model_params

from .test_models import load


def test_the_paper_estimate_follows_the_config(root, capsys):
    paper = load(root, "configs/paper.yaml")
    result = estimate(paper, dict(ASSUMPTIONS))
    assert result["seeds"] == 80_000 and result["teacher_completion_tokens"] == 80_000 * 450
    expected_usd = (result["teacher_prompt_tokens"] * 1.0 + result["teacher_completion_tokens"] * 2.0) / 1e6
    assert result["teacher_usd"] == pytest.approx(expected_usd, abs=0.01)
    runs = {run["run"]: run for run in result["training"]}
    assert set(runs) == {"magicoder-cl-7b", "magicoder-ds-6.7b", "magicoders-cl-7b", "magicoders-ds-6.7b"}
    assert runs["magicoder-cl-7b"]["tokens"] == round(80_000 * 0.94 * 600 * 2)
    assert runs["magicoders-ds-6.7b"]["params"] == 6.7e9  # MagicoderS-DS descends from DeepSeek-Coder-6.7B
    assert runs["magicoders-ds-6.7b"]["tokens"] == 110_000 * 500 * 2
    assert len(result["evaluations"]) == 6 * 2
    total = sum(r["gpu_hours"] for r in runs.values()) + sum(e["gpu_hours"] for e in result["evaluations"])
    assert result["gpu_hours"] == pytest.approx(total, abs=0.2)

    paper["teacher"]["mode"] = "batch"
    assert estimate(paper, dict(ASSUMPTIONS))["teacher_usd"] == pytest.approx(expected_usd / 2, abs=0.01)

    assert main(["--configfile", str(root / "configs/paper.yaml")]) == 0
    assert "gpt-3.5-turbo-1106: 80000 requests" in capsys.readouterr().out


def test_parameters_come_from_the_name_or_the_flag():
    assert model_params("codellama-python-7b") == 7e9 and model_params("smollm2-135m-instruct") == 135e6
    assert model_params("my-model") is None and model_params("my-model", 13) == 13e9
