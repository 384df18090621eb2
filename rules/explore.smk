# The explorer (not the paper's): every seed's journey per teacher and every completion's verdict, in
# SQLite files that `ossinstruct explore` serves with Datasette; their summary pages go into the report.


def explore_teacher_inputs(wildcards):
    """What a teacher's journey is read from: the stages' kept and excluded rows, the analysis's per-row
    files, the fine-tuning set, the benchmark files the matched strings come from and, when
    validation is on, its verdicts."""
    folder = f"results/curate/{wildcards.teacher}"
    inputs = {
        "seeds": f"results/seeds/{CORPUS}.jsonl",
        "responses": f"results/generate/{wildcards.teacher}/responses.jsonl",
        "parsed_excluded": f"{folder}/parsed_excluded.jsonl",
        "clean_excluded": f"{folder}/clean_excluded.jsonl",
        "decontaminated": f"{folder}/decontaminated.jsonl",
        "decontaminated_excluded": f"{folder}/decontaminated_excluded.jsonl",
        "report": curation_report(wildcards.teacher),
        "categories": f"results/analysis/{wildcards.teacher}/categories.jsonl",
        "similarity": f"results/analysis/{wildcards.teacher}/similarity.jsonl",
        "sft": f"results/sft/{wildcards.teacher}.jsonl",
        **decontamination_inputs(wildcards),
    }
    if config["validate"]["enabled"]:
        inputs["validated"] = f"results/validate/{wildcards.teacher}/validated.jsonl"
        inputs["validated_excluded"] = f"results/validate/{wildcards.teacher}/validated_excluded.jsonl"
    return inputs


def explore_sample(wildcards):
    """The seeds a teacher answered: all, or `teachers.<name>.seeds` of them (Table 7's weaker teacher)."""
    other = config["teachers"].get(wildcards.teacher, {})
    return {"seeds": other["seeds"], "sample_seed": other["sample_seed"]} if other.get("seeds") else {}


def explore_eval_specs():
    """EvalPlus results of every evaluated model and the MultiPL-E outcomes `explore.multipl_e` names."""
    evalplus = [
        {
            "model": model,
            "benchmark": benchmark,
            "dataset": config["evaluate"]["datasets"][benchmark],
            **{
                name: f"results/eval/{model}/{benchmark}/{file}"
                for name, file in (
                    ("samples", "samples.jsonl"),
                    ("results", "samples_eval_results.json"),
                    ("scores", "scores.json"),
                )
            },
        }
        for model in EVALUATED
        for benchmark in BENCHMARKS
    ]
    multipl_e = [
        {
            "decoding": entry.split("/")[0],
            "model": entry.split("/")[1],
            "language": language,
            "samples": f"results/{entry}/{language}/samples.jsonl",
            "results": f"results/{entry}/{language}/results.jsonl",
        }
        for entry in config["explore"]["multipl_e"]
        for language in MULTIPL_E_LANGUAGES
    ]
    return {"evalplus": evalplus, "multipl_e": multipl_e}


EXPLORE_EVAL = explore_eval_specs()


def explore_models():
    """Each evaluated model: a student, or a run with its base and data."""
    return [
        (
            {
                "model": model,
                "kind": "run",
                "base": config["runs"][model]["base"],
                "data": config["runs"][model]["data"],
            }
            if model in config["runs"]
            else {"model": model, "kind": "student", "base": None, "data": None}
        )
        for model in dict.fromkeys(EVALUATED + [entry.split("/")[1] for entry in config["explore"]["multipl_e"]])
    ]


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
    localrule: True
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
        replay={"enabled": config["explore"]["replay"], "timeout_s": config["explore"]["replay_timeout_s"]},
        multipl_e=EXPLORE_EVAL["multipl_e"],
        models=explore_models(),
    script:
        "../scripts/build_explorer.py"
