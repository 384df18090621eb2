# MultiPL-E (paper Table 2): HumanEval in Java, JavaScript, C++, PHP, Swift and Rust. Samples come
# from the evaluation backend (a GPU job with vLLM); programs run with the real toolchains in a
# sandbox on a CPU. A language without its toolchain is reported as missing.
# Two decodings: `multipl-e` samples as Table 2 does (temperature, top-p, N samples), and
# `multipl-e-greedy` is one greedy completion per task, as the ablations (Tables 5 and 6) evaluate.

MULTIPL_E_LANGUAGES = config["multipl_e"]["languages"]
MULTIPL_E_GENERATION = stage_what(config, "multipl_e")
DECODINGS = {
    "multipl-e": MULTIPL_E_GENERATION,
    "multipl-e-greedy": {**MULTIPL_E_GENERATION, "samples": 1, "temperature": 0.0, "top_p": 1.0, "seed": 0},
}


wildcard_constraints:
    language="|".join(MULTIPL_E_LANGUAGES),
    decoding="|".join(map(re.escape, DECODINGS)),


rule generate_multipl_e:
    input:
        unpack(evaluated_model_inputs),
        prompts="data/benchmarks/multipl-e/humaneval-{language}.jsonl",
    output:
        samples="results/{decoding}/{model}/{language}/samples.jsonl",
    log:
        "logs/{decoding}/{model}/{language}.generate.log",
    benchmark:
        "logs/benchmarks/{decoding}/{model}/{language}.generate.tsv"
    conda:
        "../envs/evaluate.yaml"
    threads: 2
    resources:
        gpu=eval_gpus,
        slurm_partition=gpu_partition(eval_gpus),
    params:
        settings=lambda wildcards: DECODINGS[wildcards.decoding],
        # batch_size only where it decides anything (transformers), so no other backend reruns.
        evaluate=stage_what(config, "multipl_e_backend"),
        model_file=evaluated_model_file,
        log_dir="logs/{decoding}/{model}",
    script:
        "../scripts/generate_multipl_e.py"


rule execute_multipl_e:
    input:
        samples=rules.generate_multipl_e.output.samples,
        prompts="data/benchmarks/multipl-e/humaneval-{language}.jsonl",
    output:
        results="results/{decoding}/{model}/{language}/results.jsonl",
        scores="results/{decoding}/{model}/{language}/scores.json",
    log:
        "logs/{decoding}/{model}/{language}.execute.log",
    conda:
        "../envs/evaluate.yaml"
    threads: 2
    params:
        settings=stage_what(config, "multipl_e_execute"),
    script:
        "../scripts/execute_multipl_e.py"


rule make_table2:
    input:
        scores=expand(
            "results/multipl-e/{model}/{language}/scores.json",
            model=config["tables"]["table2"]["models"] or TABLE1_MODELS,
            language=MULTIPL_E_LANGUAGES,
        ),
        paper=config["tables"]["table2"]["paper"],
    output:
        table=report("results/table2.csv", caption="../report/table2.rst", category="Tables"),
    log:
        "logs/tables/table2.log",
    localrule: True
    conda:
        "../envs/analyze.yaml"
    params:
        models=config["tables"]["table2"]["models"] or TABLE1_MODELS,
        languages=MULTIPL_E_LANGUAGES,
    script:
        "../scripts/make_table2.py"
