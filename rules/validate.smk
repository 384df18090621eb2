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
        gpu=teacher_gpus,
    params:
        # What decides the requests: the teacher's answer-deciding keys and the prompts.
        teacher=teacher_request_settings,
        settings=stage_what(config, "tests"),
        cache_dir=CACHE_DIR,
    script:
        "../scripts/generate_tests.py"


rule validate_pairs:
    input:
        tests=rules.generate_tests.output.tests,
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
        "logs/validate/{teacher}/validate.log",
    benchmark:
        "logs/benchmarks/validate/{teacher}/validate.tsv"
    conda:
        "../envs/generate.yaml"
    threads: 2
    params:
        # The limits decide verdicts; the sandbox section (where the code runs) is read at run time.
        settings=stage_what(config, "validate"),
    script:
        "../scripts/validate_pairs.py"


rule build_validated_sft_data:
    input:
        decontaminated=rules.validate_pairs.output.validated,
    output:
        sft="results/sft/{teacher}-validated.jsonl",
    log:
        "logs/sft/{teacher}-validated.log",
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/build_sft_data.py"
