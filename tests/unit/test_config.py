import copy
import subprocess

import pytest
import yaml

from ossinstruct.config import ConfigError, load_config, validate_config

from ..conftest import snakemake_command


@pytest.fixture
def config(root):
    return yaml.safe_load((root / "config.yaml").read_text())


def check(config, root):
    return validate_config(copy.deepcopy(config), root / "schemas/config.schema.yaml")


def test_the_shipped_configs_are_valid(root):
    load_config(root / "config.yaml", root / "schemas/config.schema.yaml")


def test_unknown_key_is_named(config, root):
    config["teacher"]["temprature"] = 0.5
    with pytest.raises(ConfigError, match=r"'teacher.temprature': unknown key"):
        check(config, root)


def test_wrong_type_is_named(config, root):
    config["train"]["learning_rate"] = "fast"
    with pytest.raises(ConfigError, match=r"'train.learning_rate'"):
        check(config, root)


def test_bad_enum_and_missing_section_are_named(config, root):
    config["teacher"]["server"] = "telepathy"
    del config["evaluate"]
    with pytest.raises(ConfigError) as error:
        check(config, root)
    assert "'teacher.server'" in str(error.value)
    assert "'evaluate' is a required property" in str(error.value)


def test_defaults_are_filled(config, root):
    del config["curate"]["shuffle_seed"]
    assert check(config, root)["curate"]["shuffle_seed"] == 666


def test_snakemake_refuses_a_bad_config_before_any_job_and_keeps_results(project):
    (project / "results").mkdir()
    kept = project / "results" / "table1.csv"
    kept.write_text("earlier results\n")
    (project / "bad.yaml").write_text("seeds:\n  quotas: 3\n")
    run = subprocess.run(
        [*snakemake_command(), "results/table1.csv", "--cores", "1", "--configfile", "bad.yaml"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    assert "config key 'seeds.quotas': unknown key" in run.stdout + run.stderr
    assert kept.read_text() == "earlier results\n"
    assert not (project / "logs").exists()  # no job started


def test_a_seed_source_needs_its_settings(config, root):
    config["seeds"]["languages"]["cpp"]["source"] = "hf"
    with pytest.raises(ConfigError, match=r"'seeds.languages.cpp': 'hf' is a required property"):
        check(config, root)


def test_transport_settings_are_checked_too(config, root):
    config["teacher"]["client"]["requests_per_minute"] = 0
    with pytest.raises(ConfigError, match=r"'teacher.client.requests_per_minute'"):
        check(config, root)


def test_the_paper_config_overlays_cleanly(config, root):
    from snakemake.utils import update_config

    merged = copy.deepcopy(config)
    update_config(merged, yaml.safe_load((root / "configs/paper.yaml").read_text()))  # Snakemake's deep merge
    checked = check(merged, root)
    quotas = {lang: spec["quota"] for lang, spec in checked["seeds"]["languages"].items()}
    assert quotas == {
        "python": 40000,
        "cpp": 5000,
        "java": 5000,
        "typescript": 5000,
        "shell": 5000,
        "csharp": 5000,
        "rust": 5000,
        "php": 5000,
        "swift": 5000,
    }
    assert checked["seeds"]["languages"]["csharp"]["hf"]["data_dir"] == "c-sharp"
    assert checked["seeds"]["languages"]["swift"]["hf"]["dataset"] == "bigcode/the-stack"
    assert checked["teacher"]["model"] == "gpt-3.5-turbo-1106" and checked["teacher"]["max_new_tokens"] == 2500


def _declared_defaults(schema, config, path=()):
    """(path, default, value in config) for every default the schema declares where `config` has a
    section to hold it: fixed sections and each entry of a named section."""
    for name, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, dict):
            continue
        if "default" in sub:
            yield (*path, name), sub["default"], config.get(name, "<missing>")
        if isinstance(config.get(name), dict):
            yield from _declared_defaults(sub, config[name], (*path, name))
    entries = schema.get("additionalProperties")
    if isinstance(entries, dict) and entries.get("properties"):
        for name, value in config.items():
            if name not in (schema.get("properties") or {}) and isinstance(value, dict):
                yield from _declared_defaults(entries, value, (*path, name))


def test_every_schema_default_is_filled_in_every_section_and_named_entry(root):
    """The schema is the one source of defaults: a minimal config with one entry in every named
    section (a language, a student, a run, another teacher, an imported set) gets each default."""
    from ossinstruct.config import SCHEMA, load_schema, section_defaults

    minimal = {
        "seeds": {"corpus": "c", "languages": {"python": {"quota": 1, "source": "hf", "hf": {"dataset": "d"}}}},
        "teacher": {"name": "t", "model": "m", "server": "openai"},
        "teachers": {"weak": {"seeds": 5}},
        "curate": {"benchmarks": {}},
        "students": {"s": {"gguf": "x.gguf"}},
        "runs": {"r": {"base": "s", "data": "oss-instruct"}},
        "sft_data": {"d": {"source": "x.jsonl"}},
        "train": {},
        "evaluate": {},
        "tables": {"table1": {"models": ["s"]}},
    }
    config = validate_config(copy.deepcopy(minimal))
    declared = list(_declared_defaults(load_schema(SCHEMA), config))
    paths = {".".join(path) for path, _, _ in declared}
    for expected in (
        "seeds.languages.python.source",
        "seeds.languages.python.hf.split",
        "teachers.weak.sample_seed",
        "students.s.prompt_format",
        "runs.r.prompt_format",
        "sft_data.d.split",
        "sft_data.d.limit",
        "teacher.client.timeout_s",
        "teacher.batch.discount",
        "multipl_e.max_length",
        "analysis.compare",
        "train.loss_weighting",
        "evaluate.sanitizer",
    ):
        assert expected in paths, expected

    def given(path):  # set by the minimal config itself
        section = minimal
        for part in path:
            if not isinstance(section, dict) or part not in section:
                return False
            section = section[part]
        return True

    missing = [
        (".".join(path), default, value)
        for path, default, value in declared
        if value != default and not given(path) and not (isinstance(default, dict) and isinstance(value, dict))
    ]
    assert not missing
    assert config["sft_data"]["d"]["split"] == "train" and config["runs"]["r"]["prompt_format"] == "magicoder"
    assert section_defaults("teacher.client") == config["teacher"]["client"]


def test_how_keys_split_off_and_join_back():
    from ossinstruct.config import join_how, section_defaults, split_how

    evaluate = {**section_defaults("evaluate"), "parallel": 4}
    what, how = split_how("evaluate", evaluate)
    assert how["parallel"] == 4 and how["vllm"] == {"concurrency": 64, "startup_timeout_s": 1800, "python": None}
    assert "parallel" not in what and "concurrency" not in what["vllm"] and what["vllm"]["dtype"] == "bfloat16"
    assert join_how(what, how) == evaluate
    train_what, train_how = split_how("train", section_defaults("train"))
    assert train_how == {"save_steps": 50, "attention": "sdpa", "gradient_checkpointing": False, "report_to": "none"}
    assert "learning_rate" in train_what
