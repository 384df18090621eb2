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
    # Table 1's runs and the ablations' of Tables 5-7 (each a CodeLlama-Python-7B fine-tuning)
    assert set(runs) == {
        "magicoder-cl-7b",
        "magicoder-ds-6.7b",
        "magicoders-cl-7b",
        "magicoders-ds-6.7b",
        "magicoder-cl-7b-python",
        "magicoder-cl-7b-other",
        "codellama-python-7b-comment-function",
        "magicoder-cl-mixtral-7b",
    }
    assert (
        runs["codellama-python-7b-comment-function"]["tokens"] == 75_197 * 500 * 2
    )  # max_pairs, an imported row's tokens
    assert runs["magicoder-cl-mixtral-7b"]["tokens"] == round(20_000 * 0.94 * 600 * 2)  # Table 7: 20K seeds
    python = runs["magicoder-cl-7b-python"]["tokens"] / runs["magicoder-cl-7b"]["tokens"]
    assert python == pytest.approx(40_000 / 80_000)  # the split follows the seed quotas
    # Table 7's open teacher: its 20K requests, GPU-hours on its 4 GPUs at the stated throughput
    (mixtral,) = result["teachers"]
    assert mixtral["requests"] == 20_000 and mixtral["usd"] is None and mixtral["served_gpus"] == 4
    assert mixtral["gpu_hours"] == pytest.approx(20_000 * 450 / 2000 / 3600 * 4, abs=0.05)
    # Table 2 (and Tables 5-6's MultiPL-E): 50 samples of every task, per model and language
    jobs = {(job["model"], job["language"]): job for job in result["multipl_e"]}
    assert len(jobs) == 9 * 6  # Table 1's six models and the three ablation runs of Tables 5 and 6
    assert jobs[("codellama-python-7b", "js")]["samples"] == 161 * 50
    hours = 161 * 50 * 512 / ASSUMPTIONS["sample_tokens_per_s"] / 3600 + ASSUMPTIONS["eval_overhead_h"]
    assert jobs[("codellama-python-7b", "js")]["gpu_hours"] == pytest.approx(hours, abs=0.01)  # tokens of 50 samples
    assert result["validation"] is None  # validation is off in the paper's config
    assert runs["magicoder-cl-7b"]["tokens"] == round(80_000 * 0.94 * 600 * 2)
    assert runs["magicoders-ds-6.7b"]["params"] == 6.7e9  # MagicoderS-DS descends from DeepSeek-Coder-6.7B
    assert runs["magicoders-ds-6.7b"]["tokens"] == 110_000 * 500 * 2
    assert len(result["evaluations"]) == 10 * 2  # Tables 1 and 4-7: ten models
    total = sum(r["gpu_hours"] for r in runs.values()) + sum(e["gpu_hours"] for e in result["evaluations"])
    total += mixtral["gpu_hours"] + sum(job["gpu_hours"] for job in result["multipl_e"])
    assert result["gpu_hours"] == pytest.approx(total, abs=0.2)

    paper["teacher"]["mode"] = "batch"
    assert estimate(paper, dict(ASSUMPTIONS))["teacher_usd"] == pytest.approx(expected_usd / 2, abs=0.01)

    assert main(["--configfile", str(root / "configs/paper.yaml")]) == 0
    out = capsys.readouterr().out
    assert "gpt-3.5-turbo-1106: 80000 requests" in out and "teacher mixtral-8x7b-instruct" in out
    assert "multipl-e: 54 jobs, " in out and "open_teacher_tokens_per_s=2000" in out


def test_validation_requests_are_counted_when_validation_is_on(root):
    default = load(root)
    default["validate"].update(enabled=True, solutions=2)
    validation = estimate(default, dict(ASSUMPTIONS))["validation"]
    rows = sum(spec["quota"] for spec in default["seeds"]["languages"].values()) * ASSUMPTIONS["kept_fraction"]
    assert validation["requests"] == round(rows * 3)
    default["validate"]["enabled"] = False
    assert estimate(default, dict(ASSUMPTIONS))["validation"] is None


def test_parameters_come_from_the_name_or_the_flag():
    assert model_params("codellama-python-7b") == 7e9 and model_params("smollm2-135m-instruct") == 135e6
    assert model_params("my-model") is None and model_params("my-model", 13) == 13e9


def test_the_paper_trainings_fit_80_gb_per_gpu_and_eight_rows_per_device_would_not(root, capsys):
    """The per-GPU memory estimate (train.memory) of every paper run: Magicoder's 2 rows per device fit
    an A100-80GB; the 8 rows the config had before need about 90 GB (the issue's arithmetic), and the
    training job would refuse them, naming the keys."""
    from ossinstruct.train.memory import GIB, fits, llama_shape, training_memory

    paper = load(root, "configs/paper.yaml")
    runs = estimate(paper, dict(ASSUMPTIONS))["training"]
    assert runs and all(run["memory_per_gpu_gib"] is not None and run["memory"]["total"] < 80e9 for run in runs)
    assert main(["--configfile", str(root / "configs/paper.yaml")]) == 0
    assert capsys.readouterr().out.count("  memory per GPU: ") == len(runs)

    seven_b = llama_shape(7e9)
    assert (seven_b["hidden_size"], seven_b["num_hidden_layers"]) == (4096, 32)
    eight = training_memory(seven_b, per_device_batch_size=8, max_length=1216, bf16=True, processes=2)
    assert 85 * GIB < eight["total"] < 100 * GIB
    assert eight["activations"] / (8 * 1216) == pytest.approx(5.2e6, rel=0.1)  # about 5 MB per token
    checkpointed = training_memory(
        seven_b, per_device_batch_size=8, max_length=1216, bf16=True, processes=2, gradient_checkpointing=True
    )
    assert checkpointed["total"] < 80e9 < eight["total"]
    with pytest.raises(ValueError, match=r"'train.per_device_batch_size'.*'train.gradient_checkpointing: true'"):
        fits(eight, 80 * 10**9, "magicoder-cl-7b")
    fits(checkpointed, 80 * 10**9, "magicoder-cl-7b")
