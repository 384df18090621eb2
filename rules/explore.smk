# The explorer (not the paper's): every seed's journey per teacher and every completion's verdict, in
# SQLite files that `ossinstruct explore` serves with Datasette; their summary pages go into the report.


EXPLORE_EVAL = explore_eval_specs()


rule explore_teacher:
    input:
        unpack(explore_teacher_inputs),
    output:
        database="results/explore/{teacher}.db",
        page=report(
            "results/explore/{teacher}.html",
            caption="../report/explore_teacher.rst",
            category="Explore",
        ),
    log:
        "logs/explore/{teacher}.log",
    benchmark:
        "logs/benchmarks/explore/{teacher}.tsv"
    conda:
        "../envs/explore.yaml"
    params:
        benchmarks=BENCHMARK_SOURCES,
        sample=explore_sample,
        cache_dir=CACHE_DIR,
    script:
        "../scripts/build_explorer.py"


rule explore_eval:
    input:
        [
            spec[key]
            for specs in EXPLORE_EVAL.values()
            for spec in specs
            for key in ("dataset", "samples", "results", "scores")
            if key in spec
        ],
    output:
        database="results/explore/eval.db",
        page=report(
            "results/explore/eval.html",
            caption="../report/explore_eval.rst",
            category="Explore",
        ),
    log:
        "logs/explore/eval.log",
    conda:
        "../envs/explore.yaml"
    threads: 2
    params:
        evalplus=EXPLORE_EVAL["evalplus"],
        replay=EXPLORE_REPLAY,
        multipl_e=EXPLORE_EVAL["multipl_e"],
        models=explore_models(),
    script:
        "../scripts/build_explorer.py"
