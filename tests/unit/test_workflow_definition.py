import subprocess

from ..conftest import snakemake_command


def run(project, *args):
    return subprocess.run([*snakemake_command(), *args], cwd=project, capture_output=True, text=True, timeout=300)


def test_lint_is_clean(project):
    result = run(project, "--lint")
    assert result.returncode == 0, result.stdout + result.stderr


def test_dry_run_plans_the_whole_pipeline(project):
    result = run(project, "results/table1.csv", "-n", "--cores", "2")
    assert result.returncode == 0, result.stderr
    for rule in [
        "collect_seeds",
        "generate_responses",
        "parse_responses",
        "clean_pairs",
        "decontaminate_pairs",
        "build_sft_data",
        "train_student",
        "export_student_gguf",
        "evaluate_model",
        "make_table1",
    ]:
        assert f"rule {rule}:" in result.stdout
    assert result.stdout.count("rule evaluate_model:") == 4  # base and fine-tuned x HumanEval(+), MBPP(+)
