"""The final data set's provenance: a machine-readable manifest and a dataset card.

Reads the decontaminated rows and the seeds, teacher and curation reports; writes
`results/dataset/{teacher}/data.jsonl` (what `datasets.load_dataset("json", data_files=...)`
reads), `manifest.json` and `README.md` (the card, also copied to `results/dataset_card.md`).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections import Counter
from importlib import metadata
from pathlib import Path

from .io import read_json, write_json
from .models import request_settings

PACKAGES = (
    "ossinstruct",
    "snakemake",
    "openai",
    "transformers",
    "torch",
    "datasets",
    "evalplus",
    "scikit-learn",
    "ahocorasick-rs",
    "datasketch",
    "tiktoken",
    "llama-cpp-python",
)
EXPORTED = ("id", "lang", "problem", "solution", "seed", "source", "teacher", "request_hash")


def git_revision(folder: str | Path = ".") -> dict:
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def config_hash(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def package_versions(names=PACKAGES) -> dict:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def export_row(row: dict) -> dict:
    """The published columns only, the same keys in every row (one schema for `datasets`)."""
    return {key: row.get(key) for key in EXPORTED}


def build_manifest(
    rows_by_language: Counter, seeds_report: dict, generation: dict, curation: dict, config: dict
) -> dict:
    """The data set's record; `rows_by_language`: its rows counted by their `lang`."""
    teacher = config["teacher"]
    languages = {
        lang: {k: spec.get(k) for k in ("quota", "source", "hf") if spec.get(k) is not None}
        for lang, spec in config["seeds"]["languages"].items()
        if spec.get("quota")
    }
    return {
        "dataset": f"oss-instruct-{teacher['name']}",
        "rows": sum(rows_by_language.values()),
        "rows_by_language": dict(sorted(rows_by_language.items())),
        "stages": [
            {"step": "seeds", "rows_out": seeds_report.get("total")},
            {
                "step": "generate",
                "rows_in": generation.get("seeds"),
                "rows_out": generation.get("responses"),
                "skipped_no_budget": generation.get("skipped_no_budget"),
                "failed": generation.get("failed"),
            },
            *(
                {
                    "step": step["step"],
                    "rows_in": step["rows_in"],
                    "rows_out": step["rows_out"],
                    "dropped_by_reason": step["dropped_by_reason"],
                }
                for step in curation["steps"]
            ),
        ],
        "teacher": {
            "settings": request_settings(teacher),
            "mode": teacher.get("mode"),
            "base_url": teacher.get("base_url"),
        },
        "tokens": {
            key: generation.get(key)
            for key in ("prompt_tokens", "completion_tokens", "dataset_prompt_tokens", "dataset_completion_tokens")
        },
        "cost_usd": {"this_run": generation.get("cost_usd"), "whole_dataset": generation.get("dataset_cost_usd")},
        "seed_sources": {"corpus": config["seeds"]["corpus"], "languages": languages},
        "decontamination": {
            "benchmarks": {k: v for k, v in config["curate"]["benchmarks"].items() if v},
            "complete": next((s.get("complete") for s in curation["steps"] if s["step"] == "decontaminate"), None),
            "skipped_families": next(
                (s.get("skipped_families") for s in curation["steps"] if s["step"] == "decontaminate"), None
            ),
        },
        "models": {
            "teacher": teacher["model"],
            "students": list(config.get("students", {})),
            "runs": list(config.get("runs", {})),
        },
        "git": git_revision(),
        "config_sha256": config_hash(config),
        "packages": package_versions(),
    }


def validation_summary(report: dict) -> dict:
    """What the card says of execution validation: pass rates overall and by language, verdicts."""
    keys = ("rows", "kept", "pass_rate", "by_verdict", "sandbox", "limits")
    by_language = {lang: counts["pass_rate"] for lang, counts in report["by_language"].items()}
    return {**{key: report[key] for key in keys}, "pass_rate_by_language": by_language}


def validation_section(validation: dict | None) -> str:
    if not validation:
        return ""
    rates = ", ".join(f"{lang} {rate:.0%}" for lang, rate in validation["pass_rate_by_language"].items())
    verdicts = ", ".join(f"{name}: {n}" for name, n in validation["by_verdict"].items() if n)
    rate = validation["pass_rate"]
    return f"""
## Execution validation (not the paper's)
Each row's solution was run with tests the teacher wrote for it, in the sandbox
({validation["sandbox"]}); {validation["kept"]} of {validation["rows"]} pass
({f"{rate:.1%}" if rate is not None else "n/a"}; by language: {rates or "none"}). Verdicts: {verdicts or "none"}.
The data set `oss-instruct-validated` holds the passing rows; this card's rows are all curated rows.
"""


# The Hub's size buckets (huggingface.co/docs/hub/datasets-cards): the largest bound the rows are under
SIZE_CATEGORIES = ((1e3, "n<1K"), (1e4, "1K<n<10K"), (1e5, "10K<n<100K"), (1e6, "100K<n<1M"), (1e7, "1M<n<10M"))
LICENSE_NAME = "teacher-terms-and-seed-licenses"  # license: other, until the publisher states one


def size_category(rows: int) -> str:
    return next((name for bound, name in SIZE_CATEGORIES if rows < bound), "10M<n<100M")


def card_data(manifest: dict, license: str = "other", configs: list[dict] | None = None):
    """The card's metadata, made by huggingface_hub (valid keys and values for the Hub)."""
    from huggingface_hub import DatasetCardData

    named = {"license_name": LICENSE_NAME} if license == "other" else {}
    return DatasetCardData(
        license=license,
        **named,
        language=["en"],
        task_categories=["text-generation"],
        size_categories=[size_category(manifest["rows"])],
        tags=["code", "oss-instruct", "magicoder", "synthetic"],
        pretty_name=manifest["dataset"],
        configs=configs or [{"config_name": "default", "data_files": "data.jsonl"}],
    )


def dataset_card(manifest: dict) -> str:
    """A Hugging Face style card: YAML header, then what the data is and where it came from."""
    teacher = manifest["teacher"]["settings"]
    by_language = "\n".join(f"| {lang} | {count:,} |" for lang, count in manifest["rows_by_language"].items())
    stages = "\n".join(
        f"| {s['step']} | {s.get('rows_in', '') if s.get('rows_in') is not None else ''} | {s.get('rows_out', '')} | "
        + ", ".join(f"{reason}: {n}" for reason, n in (s.get("dropped_by_reason") or {}).items())
        + " |"
        for s in manifest["stages"]
    )
    decon = manifest["decontamination"]
    cost = manifest["cost_usd"]["whole_dataset"]
    dirty = " (with local changes)" if manifest["git"]["dirty"] else ""
    return f"""---
{card_data(manifest).to_yaml()}
---

# {manifest["dataset"]}

Instruction data made with OSS-Instruct (Wei et al., *Magicoder: Empowering Code Generation with
OSS-Instruct*, ICML 2024) by the ossinstruct pipeline: a teacher model wrote a coding problem and its
solution inspired by each seed snippet of open-source code. {manifest["rows"]:,} rows, columns
`id`, `lang` (the seed's language), `problem`, `solution`, `seed`, `source`, `teacher`,
`request_hash`.

```python
import datasets
rows = datasets.load_dataset("json", data_files="data.jsonl", split="train")
```

## Teacher
`{teacher["model"]}` (named `{teacher["name"]}`), temperature {teacher.get("temperature")}, request seed
{teacher.get("seed")} + index, at most {teacher.get("max_new_tokens")} new tokens, prompt
demonstration: {teacher.get("demonstration")}. Tokens: {manifest["tokens"]["dataset_prompt_tokens"]} prompt,
{manifest["tokens"]["dataset_completion_tokens"]} completion; cost of the whole data set:
{f"${cost:,.2f}" if cost is not None else "no price configured"}.

## Rows per language
| language | rows |
|---|---|
{by_language}

## From seeds to rows
| step | rows in | rows out | dropped |
|---|---|---|---|
{stages}

Decontamination against: {", ".join(decon["benchmarks"]) or "nothing"}. Complete: {decon["complete"]}
(families without data: {", ".join(decon["skipped_families"] or []) or "none"}).
{validation_section(manifest.get("validation"))}
## Provenance
Built by ossinstruct at commit `{manifest["git"]["commit"]}`{dirty},
config sha256 `{manifest["config_sha256"][:16]}…`. Seed corpus `{manifest["seed_sources"]["corpus"]}`. Every
setting, package version and data set revision is in `manifest.json`.

## License and use
The rows were generated by `{teacher["model"]}` from snippets of the seed sources named in
`manifest.json`; the teacher's terms of use and the seed code's licenses apply.
"""


def run(
    *,
    rows: str,
    seeds_report: str,
    generation_report: str,
    curation_report: str,
    config: dict,
    data: str,
    manifest: str,
    card: str,
    validation_report: str | None = None,
) -> None:
    from .streams import Writer, dumps, shard_rows

    languages: Counter = Counter()
    with Writer(data) as out:  # one row in memory at a time
        for row in shard_rows(rows):
            out.write(dumps(export_row(row)))
            languages[row.get("lang")] += 1
    record = build_manifest(
        languages, read_json(seeds_report), read_json(generation_report), read_json(curation_report), config
    )
    record["validation"] = validation_summary(read_json(validation_report)) if validation_report else None
    write_json(manifest, record)
    Path(card).write_text(dataset_card(record), encoding="utf-8")
