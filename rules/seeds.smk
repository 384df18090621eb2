# Stage 1: seed snippets from a local source tree (paper §2.1).


rule collect_seeds:
    output:
        seeds="results/seeds/{corpus}.jsonl",
        report="results/seeds/{corpus}_report.json",
    params:
        settings=config["seeds"],
    log:
        "logs/seeds/{corpus}.log",
    conda:
        "../envs/generate.yaml"
    script:
        "../scripts/collect_seeds.py"
