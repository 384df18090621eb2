# Stage 6: EvalPlus HumanEval(+) and MBPP(+), greedy, the paper's prompts (paper §4.1).
# Completions come from `evaluate.backend` (llama.cpp on CPUs, transformers, or vLLM on GPUs), in
# `evaluate.shards` jobs over contiguous slices of the tasks; scoring runs the merged samples
# through EvalPlus on a CPU.


rule generate_samples:
    input:
        unpack(evaluated_model_inputs),
        dataset=lambda wildcards: config["evaluate"]["datasets"][wildcards.benchmark],
    output:
        samples="results/eval/{model}/{benchmark}/shards/{shard}.jsonl",
    log:
        "logs/evaluate/{model}/{benchmark}/generate-{shard}.log",
    benchmark:
        "logs/benchmarks/evaluate/{model}/{benchmark}/generate-{shard}.tsv"
    conda:
        "../envs/evaluate.yaml"
    threads: 2
    resources:
        gpu=eval_gpus,
        slurm_partition=gpu_partition(eval_gpus),
    params:
        settings=eval_generation_settings,
        model_file=evaluated_model_file,
        log_dir="logs/evaluate/{model}/{benchmark}",
    script:
        "../scripts/generate_samples.py"


rule evaluate_model:
    input:
        shards=expand("results/eval/{{model}}/{{benchmark}}/shards/{shard}.jsonl", shard=EVAL_SHARDS),
        dataset=lambda wildcards: config["evaluate"]["datasets"][wildcards.benchmark],
    output:
        samples="results/eval/{model}/{benchmark}/samples.jsonl",
        results="results/eval/{model}/{benchmark}/samples_eval_results.json",  # EvalPlus's verdicts per task
        scores=report(
            "results/eval/{model}/{benchmark}/scores.json",
            caption="../report/scores.rst",
            category="Evaluation",
            subcategory="{model}",
            labels={"model": "{model}", "benchmark": "{benchmark}"},
        ),
    log:
        "logs/evaluate/{model}/{benchmark}/score.log",
    benchmark:
        "logs/benchmarks/evaluate/{model}/{benchmark}/score.tsv"
    conda:
        "../envs/evaluate.yaml"
    threads: 2
    params:
        settings=eval_scoring_settings,
        cache_dir=CACHE_DIR,
        log_dir="logs/evaluate/{model}/{benchmark}",
    script:
        "../scripts/evaluate_model.py"
