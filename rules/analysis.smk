# The paper's data study (§2.3): similarity to HumanEval (Figure 3), lengths and categories, and
# the final data set with its card and manifest. Figures are drawn from the summaries and go
# into `snakemake --report results/report.html`.


rule count_terms:
    # One shard of the rows (curate.shards): the document frequency of each of its terms, for the
    # TF-IDF fit of Figure 3.
    input:
        rows=rules.merge_decontamination.output.decontaminated,
    output:
        terms=temp("results/analysis/{teacher}/shards/{shard}/terms.tsv"),
    log:
        "logs/analysis/{teacher}/terms-{shard}.log",
    conda:
        "../envs/analyze.yaml"
    script:
        "../scripts/count_terms.py"


rule fit_similarity:
    # The fit's one global step, over the shards' sorted term counts (a heap merge), the compared
    # sets' and HumanEval's: the vocabulary and its IDF, as one TfidfVectorizer fit on them all.
    input:
        unpack(analysis_shard_files(("shard_terms", "terms.tsv"))),
        humaneval=config["analysis"]["humaneval"],
        compared=compared_sets,
    output:
        terms=temp("results/analysis/{teacher}/similarity_terms.tsv"),
        idf=temp("results/analysis/{teacher}/similarity_idf.npy"),
    log:
        "logs/analysis/{teacher}/similarity-fit.log",
    conda:
        "../envs/analyze.yaml"
    params:
        compare=stage_what(config, "similarity")["compare"],  # the names of the compared sets, in the order of input.compared
    script:
        "../scripts/fit_similarity.py"


rule measure_similarity:
    # One shard of the rows scored against HumanEval on the fit's vocabulary (its own terms').
    input:
        rows=rules.merge_decontamination.output.decontaminated,
        own_terms="results/analysis/{teacher}/shards/{shard}/terms.tsv",
        terms=rules.fit_similarity.output.terms,
        idf=rules.fit_similarity.output.idf,
        humaneval=config["analysis"]["humaneval"],
    output:
        per_row=temp("results/analysis/{teacher}/shards/{shard}/similarity.jsonl"),
        scores=temp("results/analysis/{teacher}/shards/{shard}/similarity.npy"),
    log:
        "logs/analysis/{teacher}/similarity-{shard}.log",
    benchmark:
        "logs/benchmarks/analysis/{teacher}/similarity-{shard}.tsv"
    conda:
        "../envs/analyze.yaml"
    script:
        "../scripts/measure_similarity.py"


rule merge_similarity:
    input:
        unpack(analysis_shard_files(("shard_per_row", "similarity.jsonl"), ("shard_scores", "similarity.npy"))),
        terms=rules.fit_similarity.output.terms,
        idf=rules.fit_similarity.output.idf,
        humaneval=config["analysis"]["humaneval"],
        compared=compared_sets,
    output:
        summary="results/analysis/{teacher}/similarity.json",
        per_row="results/analysis/{teacher}/similarity.jsonl",
        figure=report(
            "results/analysis/{teacher}/figure3.png",
            caption="../report/figure3.rst",
            category="Data study",
            labels={"figure": "Figure 3: similarity to HumanEval"},
        ),
    log:
        "logs/analysis/{teacher}/similarity.log",
    conda:
        "../envs/analyze.yaml"
    params:
        compare=stage_what(config, "similarity")["compare"],  # the names of the compared sets, in the order of input.compared
    script:
        "../scripts/merge_similarity.py"


rule measure_lengths:
    # One shard of the rows (curate.shards, a contiguous byte range), streamed: its token counts.
    input:
        rows=rules.merge_decontamination.output.decontaminated,
    output:
        counts=temp("results/analysis/{teacher}/shards/{shard}/lengths.json"),
    log:
        "logs/analysis/{teacher}/lengths-{shard}.log",
    conda:
        "../envs/analyze.yaml"
    params:
        tokenizer=stage_what(config, "lengths")["tokenizer"],
    script:
        "../scripts/measure_lengths.py"


rule merge_lengths:
    input:
        unpack(analysis_shard_files(("counts", "lengths.json"))),
    output:
        summary="results/analysis/{teacher}/lengths.json",
        figure=report(
            "results/analysis/{teacher}/lengths.png",
            caption="../report/lengths.rst",
            category="Data study",
            labels={"figure": "Lengths of problems and solutions"},
        ),
    log:
        "logs/analysis/{teacher}/lengths.log",
    conda:
        "../envs/analyze.yaml"
    params:
        tokenizer=stage_what(config, "lengths")["tokenizer"],
    script:
        "../scripts/merge_lengths.py"


rule categorize_problems:
    # One shard of the rows (curate.shards), embedded a batch at a time: its rows' categories.
    input:
        rows=rules.merge_decontamination.output.decontaminated,
    output:
        assignments=temp("results/analysis/{teacher}/shards/{shard}/categories.jsonl"),
    log:
        "logs/analysis/{teacher}/categories-{shard}.log",
    benchmark:
        "logs/benchmarks/analysis/{teacher}/categories-{shard}.tsv"
    conda:
        "../envs/analyze.yaml"
    threads: 2
    params:
        settings=stage_what(config, "categories"),
    script:
        "../scripts/categorize_problems.py"


rule merge_categories:
    input:
        unpack(analysis_shard_files(("assignments", "categories.jsonl"))),
    output:
        summary="results/analysis/{teacher}/categories.json",
        assignments="results/analysis/{teacher}/categories.jsonl",
        figure=report(
            "results/analysis/{teacher}/categories.png",
            caption="../report/categories.rst",
            category="Data study",
            labels={"figure": "Categories of the problems"},
        ),
    log:
        "logs/analysis/{teacher}/categories.log",
    conda:
        "../envs/analyze.yaml"
    params:
        settings=stage_what(config, "categories"),
    script:
        "../scripts/merge_categories.py"


rule describe_dataset:
    input:
        rows=rules.merge_decontamination.output.decontaminated,
        seeds_report=f"results/seeds/{CORPUS}_report.json",
        generation_report=rules.merge_responses.output.report,
        curation_report=rules.summarize_curation.output.report,
        validation_report=rules.merge_validation.output.report if config["validate"]["enabled"] else [],
    output:
        data="results/dataset/{teacher}/data.jsonl",
        manifest="results/dataset/{teacher}/manifest.json",
        card="results/dataset/{teacher}/README.md",
    log:
        "logs/dataset/{teacher}.log",
    conda:
        "../envs/analyze.yaml"
    params:
        # What the card states: the seeds, teacher and curation settings and the model names; the
        # teacher's how-keys (its transport, its caps) are read at run time, so they rerun nothing.
        config={
            **{key: config[key] for key in ("seeds", "curate", "students", "runs")},
            "teacher": stage_what(config, "card_teacher"),
        },
    script:
        "../scripts/describe_dataset.py"


rule copy_dataset_card:
    input:
        card=f"results/dataset/{TEACHER}/README.md",
    output:
        card=report("results/dataset_card.md", caption="../report/dataset_card.rst", category="Data set"),
    log:
        "logs/dataset/card.log",
    localrule: True
    conda:
        "../envs/analyze.yaml"
    shell:
        "cp {input.card} {output.card} 2> {log}"
