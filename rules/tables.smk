# Stage 7: the paper's tables, reproduced rows beside the reported ones.


rule make_table1:
    input:
        scores=expand(
            "results/eval/{model}/{benchmark}/scores.json",
            model=[STUDENT, RUN],
            benchmark=BENCHMARKS,
        ),
        paper=config["tables"]["paper_table1"],
    output:
        table="results/table1.csv",
    params:
        models=[STUDENT, RUN],
        benchmarks=BENCHMARKS,
    log:
        "logs/tables/table1.log",
    localrule: True
    conda:
        "../envs/analyze.yaml"
    script:
        "../scripts/make_table1.py"
