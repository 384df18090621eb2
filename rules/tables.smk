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
    log:
        "logs/tables/table1.log",
    localrule: True
    conda:
        "../envs/analyze.yaml"
    params:
        models=TABLE1_MODELS,
        benchmarks=BENCHMARKS,
    script:
        "../scripts/make_table1.py"


# Tables 4-7 (and table_validated, ours): one rule, a target each (`snakemake results/table5.csv`),
# not part of `all`: they train and evaluate the ablation runs (about 2 x 2 GPU-days at paper scale).
rule make_ablation_table:
    input:
        scores=lambda wildcards: ablation_table_inputs(wildcards.table),
        paper=lambda wildcards: config["tables"][wildcards.table]["paper"] or [],
    output:
        table="results/{table}.csv",
    log:
        "logs/tables/{table}.log",
    wildcard_constraints:
        table="|".join(ABLATION_TABLES),
    localrule: True
    conda:
        "../envs/analyze.yaml"
    params:
        rows=lambda wildcards: ablation_table_rows(wildcards.table),
    script:
        "../scripts/make_ablation_table.py"
