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


# Tables 4-7: each a target of its own (`snakemake results/table5.csv`), not part of `all`: they
# train and evaluate the ablation runs (about 2 x 2 GPU-days at paper scale).
for _table in ABLATION_TABLES:

    rule:
        name:
            f"make_{_table}"
        input:
            scores=lambda wildcards, table=_table: ablation_table_inputs(table),
            paper=config["tables"][_table]["paper"],
        output:
            table=f"results/{_table}.csv",
        params:
            table=_table,
            rows=lambda wildcards, table=_table: ablation_table_rows(table),
        log:
            f"logs/tables/{_table}.log",
        localrule: True
        conda:
            "../envs/analyze.yaml"
        script:
            "../scripts/make_ablation_table.py"
