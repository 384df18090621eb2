# Ablation data (paper §4, Tables 5 and 6): the language split of the curated rows, and
# comment-function pairs from the documents the seeds came from.


rule split_by_language:
    input:
        decontaminated=rules.merge_decontamination.output.decontaminated,
    output:
        python="results/ablation/{teacher}/language-{split}/python.jsonl",
        other="results/ablation/{teacher}/language-{split}/other.jsonl",
        aside="results/ablation/{teacher}/language-{split}/set_aside.jsonl",
        report="results/ablation/{teacher}/language-{split}/report.json",
    log:
        "logs/ablation/{teacher}/language-{split}.log",
    wildcard_constraints:
        split="paper|conservative",
    conda:
        "../envs/generate.yaml"
    script:
        "../scripts/split_by_language.py"


rule comment_function_pairs:
    input:
        seeds=rules.collect_seeds.output.seeds,
        documents=rules.collect_seeds.output.documents,
    output:
        pairs="results/ablation/comment-function/{corpus}/pairs.jsonl",
        excluded="results/ablation/comment-function/{corpus}/pairs_excluded.jsonl",
        report="results/ablation/comment-function/{corpus}/report.json",
    log:
        "logs/ablation/comment-function/{corpus}.log",
    conda:
        "../envs/generate.yaml"
    params:
        settings=stage_what(config, "comment_function"),
    script:
        "../scripts/comment_function_pairs.py"
