"""What a cluster run submits, from the configuration, read off Snakemake's own dry run of the paper
configuration: each job's partition, GPUs, CPUs and memory (the `cluster` section, for the server a
teacher's job starts), and a 1,000-shard DAG that builds in well under a minute."""

from __future__ import annotations

import re
import subprocess
import time

import yaml

from ..conftest import ROOT, snakemake_command

PAPER = ["--configfile", "configs/paper.yaml"]


def dry_run(project, *args: str) -> str:
    done = subprocess.run([*snakemake_command(), "-n", *args], cwd=project, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def resources(output: str) -> dict[str, dict[str, str]]:
    """{output file: its job's resources} from a dry run's job listing."""
    jobs = {}
    for block in output.split("\n\n"):
        found = re.search(r"output: (\S+?),? .*?\n.*?resources: (.*)", block, re.S)
        if found:
            listed = found.group(2).splitlines()[0].strip()
            jobs[found.group(1)] = dict(item.split("=", 1) for item in listed.split(", "))
    return jobs


def test_each_job_is_sized_for_what_it_runs(project):
    served = "results/generate/mixtral-8x7b-instruct/shards/0-of-2/responses.jsonl"
    hosted = "results/generate/gpt-3.5-turbo-1106/shards/0-of-8/responses.jsonl"
    trained = "results/models/magicoder-cl-7b/model"
    jobs = resources(dry_run(project, served, hosted, trained, *PAPER))
    # Table 7's Mixtral teacher: vLLM on its 4 GPUs (teacher.serve.gpus), 8 CPUs and 64 GB per GPU
    assert {key: jobs[served][key] for key in ("gpu", "slurm_partition", "cpus_per_task", "mem_mb", "runtime")} == {
        "gpu": "4",
        "slurm_partition": "gpu",
        "cpus_per_task": "32",
        "mem_mb": "256000",
        "runtime": "1440",
    }
    # the hosted teacher only sends requests
    assert (jobs[hosted]["gpu"], jobs[hosted]["slurm_partition"], jobs[hosted]["cpus_per_task"]) == ("0", "cpu", "2")
    assert jobs[hosted]["mem_mb"] == "8000"
    assert (jobs[trained]["gpu"], jobs[trained]["slurm_partition"]) == ("2", "gpu")  # train.gpus


def test_the_cluster_section_renames_partitions_and_resizes_teachers(project):
    (project / "sizes.yaml").write_text(
        yaml.safe_dump({"cluster": {"gpu_partition": "a100", "teacher": {"per_gpu": {"cpus": 4, "mem_mb": 1000}}}})
    )
    served = "results/generate/mixtral-8x7b-instruct/shards/1-of-2/responses.jsonl"
    job = resources(dry_run(project, served, *PAPER, "sizes.yaml"))[served]
    assert (job["slurm_partition"], job["cpus_per_task"], job["mem_mb"]) == ("a100", "16", "4000")


def test_the_profile_leaves_the_config_sized_resources_alone():
    """profiles/slurm's set-resources would win over a rule's own: it must not size the teacher's
    jobs or name a GPU job's partition."""
    profile = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    assert not {"generate_responses", "generate_tests"} & set(profile["set-resources"])
    assert all("slurm_partition" not in sizes for sizes in profile["set-resources"].values())
    arrays = profile["slurm-array-jobs"].split(",")
    sharded = {"generate_responses", "validate_pairs", "parse_responses", "clean_pairs", "decontaminate_pairs"}
    assert sharded | {"count_terms", "measure_similarity", "measure_lengths", "categorize_problems"} <= set(arrays)
    # One failed task fails the plugin's whole array (upstream #447): not the evaluation's GPU shards,
    # whose completions are not cached.
    assert "generate_samples" not in arrays


def test_a_thousand_shards_build_their_dag_in_under_a_minute(project, capsys):
    (project / "shards.yaml").write_text(yaml.safe_dump({"teacher": {"shards": 1000}, "validate": {"shards": 1000}}))
    targets = ["results/table1.csv", "results/validate/gpt-3.5-turbo-1106/validated_report.json"]
    started = time.monotonic()
    output = dry_run(project, *targets, *PAPER, "shards.yaml", "--quiet", "rules")
    elapsed = time.monotonic() - started
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", output, re.M))
    assert counts["generate_responses"] == "1000" and counts["validate_pairs"] == "1000", counts
    with capsys.disabled():
        print(f"\ndry run of {counts['total']} jobs (1,000 teacher and 1,000 validation shards): {elapsed:.1f} s")
    assert elapsed < 60


def test_ten_million_seeds_plan_in_under_a_minute_as_at_most_600_sbatch_calls(project, capsys):
    """The paper's languages at 125x their quotas (10M seeds), 1,000 teacher shards (10K seeds each),
    100 curation shards and 1,000 validation shards: at most 3,000 jobs, planned in under a minute,
    submitted as at most 600 sbatch calls (an array per 1,000 tasks of the profile's array rules; one
    call per other job; none for a local rule)."""
    paper = yaml.safe_load((ROOT / "configs/paper.yaml").read_text())
    quotas = {lang: {"quota": spec["quota"] * 125} for lang, spec in paper["seeds"]["languages"].items()}
    overlay = {"seeds": {"languages": quotas}, "teacher": {"shards": 1000}}
    overlay |= {"curate": {"shards": 100}, "validate": {"shards": 1000}}
    (project / "ten-million.yaml").write_text(yaml.safe_dump(overlay))
    targets = ["results/table1.csv", "results/validate/gpt-3.5-turbo-1106/validated_report.json"]
    targets += [f"results/analysis/gpt-3.5-turbo-1106/{figure}.png" for figure in ("figure3", "lengths", "categories")]
    started = time.monotonic()
    output = dry_run(project, *targets, *PAPER, "ten-million.yaml")
    elapsed = time.monotonic() - started
    jobs = re.findall(r"^(local)?rule (\w+):", output, re.M)
    assert sum(quota["quota"] for quota in quotas.values()) == 10_000_000
    arrays = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())["slurm-array-jobs"].split(",")
    submitted: dict[str, int] = {}
    for local, rule in jobs:
        if not local:
            submitted[rule] = submitted.get(rule, 0) + 1
    calls = sum(-(-count // 1000) if rule in arrays else count for rule, count in submitted.items())
    with capsys.disabled():
        print(f"\n10M seeds: {len(jobs)} jobs planned in {elapsed:.1f} s, {calls} sbatch calls")
    assert submitted["generate_responses"] == 1000 and submitted["parse_responses"] == 100
    assert submitted["measure_lengths"] == submitted["categorize_problems"] == submitted["measure_similarity"] == 100
    assert len(jobs) <= 3000 and calls <= 600 and elapsed < 60
