# Stage 3: parsing, cleaning and decontamination of teacher responses (paper §2.1-2.2).
# Each step writes its kept rows, its excluded rows (with `reason`) and a report of its counts.


rule parse_responses:
    input:
        responses=rules.merge_responses.output.responses,
    output:
        parsed="results/curate/{teacher}/parsed.jsonl",
        excluded="results/curate/{teacher}/parsed_excluded.jsonl",
        report="results/curate/{teacher}/parsed_report.json",
    log:
        "logs/curate/{teacher}/parse.log",
    conda:
        "../envs/generate.yaml"
    params:
        settings=stage_what(config, "parse"),
    script:
        "../scripts/parse_responses.py"


rule clean_pairs:
    input:
        parsed=rules.parse_responses.output.parsed,
    output:
        clean="results/curate/{teacher}/clean.jsonl",
        excluded="results/curate/{teacher}/clean_excluded.jsonl",
        report="results/curate/{teacher}/clean_report.json",
    log:
        "logs/curate/{teacher}/clean.log",
    conda:
        "../envs/generate.yaml"
    params:
        settings=stage_what(config, "clean"),
    script:
        "../scripts/clean_pairs.py"


rule decontaminate_pairs:
    input:
        unpack(decontamination_inputs),
        clean=rules.clean_pairs.output.clean,
    output:
        decontaminated="results/curate/{teacher}/decontaminated.jsonl",
        excluded="results/curate/{teacher}/decontaminated_excluded.jsonl",
        report="results/curate/{teacher}/decontaminated_report.json",
    log:
        "logs/curate/{teacher}/decontaminate.log",
    conda:
        "../envs/generate.yaml"
    params:
        benchmarks=BENCHMARK_SOURCES,
        settings=stage_what(config, "decontaminate"),
    script:
        "../scripts/decontaminate_pairs.py"


rule summarize_curation:
    input:
        parse=rules.parse_responses.output.report,
        clean=rules.clean_pairs.output.report,
        decontaminate=rules.decontaminate_pairs.output.report,
    output:
        report=report(
            "results/curate/{teacher}/report.json",
            caption="../report/curation.rst",
            category="Curation",
            labels={"teacher": "{teacher}", "file": "report.json"},
        ),
    log:
        "logs/curate/{teacher}/report.log",
    localrule: True
    conda:
        "../envs/generate.yaml"
    script:
        "../scripts/summarize_curation.py"
