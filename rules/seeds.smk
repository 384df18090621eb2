# Stage 1: seed snippets (paper §2.1) from each language's documents: a shipped or local JSONL
# corpus, a Hugging Face dataset (streamed), or a local source tree.


rule collect_seeds:
    input:
        corpora=seed_corpus_files,
    output:
        seeds="results/seeds/{corpus}.jsonl",
        report="results/seeds/{corpus}_report.json",
        # The documents the seeds came from: Table 6's comment-function pairs are extracted from them.
        documents="results/seeds/{corpus}_documents.jsonl",
    log:
        "logs/seeds/{corpus}.log",
    # streamed from the Hub: a download, where login nodes reach the hub and compute nodes often cannot
    localrule: SEEDS_FROM_HUB
    conda:
        "../envs/generate.yaml"
    params:
        settings=stage_what(config, "seeds"),
    script:
        "../scripts/collect_seeds.py"
