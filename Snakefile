# ossinstruct: the OSS-Instruct (Magicoder, ICML 2024) pipeline as Snakemake targets.
# `snakemake results/table1.csv` builds seeds -> teacher responses -> curated pairs -> SFT data ->
# fine-tuned student -> EvalPlus scores -> Table 1, whatever is missing or stale.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"


# `--sdm apptainer` runs every job in the image that container/build.sh makes (docs/cluster.md).
container: config["container"]


include: "rules/seeds.smk"
include: "rules/generate.smk"
include: "rules/curate.smk"
include: "rules/validate.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/tables.smk"
include: "rules/ablation.smk"
include: "rules/analysis.smk"
include: "rules/multipl_e.smk"
include: "rules/explore.smk"
include: "rules/prefetch.smk"


# The machine checks the jobs about to run need (ossinstruct doctor), before the first of them.
onstart:
    preflight_before_jobs()


rule all:
    default_target: True
    input:
        rules.make_table1.output.table,
        curation_report(TEACHER),
        expand("results/eval/{model}/{benchmark}/scores.json", model=EVALUATED, benchmark=BENCHMARKS),
        expand(
            "results/analysis/{teacher}/{figure}.png",
            teacher=TEACHER,
            figure=["figure3", "lengths", "categories"],
        ),
        "results/dataset_card.md",
        # each fine-tuning run's loss curve (Table 1's runs), for the report
        expand("results/models/{run}/loss_curve.png", run=[m for m in TABLE1_MODELS if m in RUNS]),
        # the explorer's databases and the report's pages on them
        expand("results/explore/{teacher}.db", teacher=TEACHER),
        "results/explore/eval.db",
        # execution validation (not the paper's), when `validate.enabled`; its table is its own target
        expand(rules.merge_validation.output.report, teacher=TEACHER) if config["validate"]["enabled"] else [],
