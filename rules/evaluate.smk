# Stage 6: EvalPlus HumanEval(+) and MBPP(+), greedy, the paper's prompts (paper §4.1).


rule evaluate_model:
    input:
        unpack(fine_tuned_gguf),
        dataset=lambda wildcards: config["evaluate"]["datasets"][wildcards.benchmark],
    output:
        samples="results/eval/{model}/{benchmark}/samples.jsonl",
        scores="results/eval/{model}/{benchmark}/scores.json",
    params:
        settings=config["evaluate"],
        model_file=evaluated_model_file,
        cache_dir=CACHE_DIR,
        log_dir="logs/evaluate/{model}/{benchmark}",
    threads: 2
    log:
        "logs/evaluate/{model}/{benchmark}.log",
    benchmark:
        "logs/benchmarks/evaluate/{model}/{benchmark}.tsv"
    conda:
        "../envs/evaluate.yaml"
    script:
        "../scripts/evaluate_model.py"
