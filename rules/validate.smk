# Execution validation (not the paper's; SelfCodeAlign, NeurIPS 2024): the teacher writes tests for
# each curated pair, each pair runs with its tests in the sandbox, and only the pairs that pass are
# kept. The kept rows are the data set `oss-instruct-validated` (`results/sft/{teacher}-validated.jsonl`);
# `validate.enabled` puts the validation, its table and the card's pass rates in `all`.


rule generate_tests:
    input:
        unpack(teacher_model_inputs),
        pairs="results/curate/{teacher}/decontaminated.jsonl",
    output:
        tests="results/validate/{teacher}/tests.jsonl",
        report="results/validate/{teacher}/tests_report.json",
    log:
        main="logs/validate/{teacher}/tests.log",
        server="logs/validate/{teacher}/tests.server.log",
    benchmark:
        "logs/benchmarks/validate/{teacher}/tests.tsv"
    conda:
        "../envs/generate.yaml"
    threads: 2
    resources:
        **TEACHER_RESOURCES,
    params:
        # What decides the requests: the teacher's answer-deciding keys and the prompts.
        teacher=teacher_request_settings,
        settings=stage_what(config, "tests"),
        cache_dir=CACHE_DIR,
    script:
        "../scripts/generate_tests.py"


rule validate_pairs:
    # One shard of the pairs (`validate.shards`, contiguous slices), run in the sandbox. Each verdict
    # is committed to the cache as it is reached (ossinstruct.validate.verdicts), so a killed shard
    # runs again only the pairs that were in flight.
    input:
        tests=rules.generate_tests.output.tests,
    output:
        validated="results/validate/{teacher}/shards/{shard}/validated.jsonl",
        excluded="results/validate/{teacher}/shards/{shard}/validated_excluded.jsonl",
        report="results/validate/{teacher}/shards/{shard}/validated_report.json",
    log:
        "logs/validate/{teacher}/validate-{shard}.log",
    benchmark:
        "logs/benchmarks/validate/{teacher}/validate-{shard}.tsv"
    conda:
        "../envs/generate.yaml"
    threads: 2
    params:
        # The limits decide verdicts; the sandbox section (where the code runs) is read at run time.
        settings=stage_what(config, "validate"),
        cache_dir=CACHE_DIR,
    script:
        "../scripts/validate_pairs.py"


rule merge_validation:
    # The shards' rows joined byte for byte (equal to one unsharded job's) and one report.
    input:
        unpack(validation_shard_files),
    output:
        validated="results/validate/{teacher}/validated.jsonl",
        excluded="results/validate/{teacher}/validated_excluded.jsonl",
        report=report(
            "results/validate/{teacher}/validated_report.json",
            caption="../report/validation.rst",
            category="Validation",
            labels={"teacher": "{teacher}", "file": "validated_report.json"},
        ),
    log:
        "logs/validate/{teacher}/merge.log",
    localrule: True  # a byte copy and a few reports: small at any scale
    conda:
        "../envs/generate.yaml"
    script:
        "../scripts/merge_validation.py"


rule build_validated_sft_data:
    input:
        decontaminated=rules.merge_validation.output.validated,
    output:
        sft="results/sft/{teacher}-validated.jsonl",
    log:
        "logs/sft/{teacher}-validated.log",
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/build_sft_data.py"
