# Stage 7: the paper's tables, reproduced rows beside the reported ones.


rule make_table1:
    input:
        scores=expand(
            "results/eval/{model}/{benchmark}/scores.json",
            model=TABLE1_MODELS,
            benchmark=BENCHMARKS,
        ),
        paper=config["tables"]["table1"]["paper"],
    output:
        table=report("results/table1.csv", caption="../report/table1.rst", category="Tables"),
    params:
        models=TABLE1_MODELS,
        benchmarks=BENCHMARKS,
    log:
        "logs/tables/table1.log",
    localrule: True
    conda:
        "../envs/analyze.yaml"
    script:
        "../scripts/make_table1.py"
