# Stage 3: parsing, cleaning and decontamination of teacher responses (paper §2.1-2.2).
# Each step writes its kept rows, its excluded rows (with `reason`) and a report of its counts.
# `curate.shards` splits each step into jobs over contiguous byte ranges of its input (the previous
# step's merged file), each streaming one row at a time; the exact dedup's global pass reads only
# 16-byte keys. The merges write exactly the single job's files (tests/unit/test_curation_shards.py);
# the shards' files are temporary, and each step reads the merged file of the one before, so a
# later target never needs a deleted shard file again.


rule parse_responses:
    input:
        responses=rules.merge_responses.output.responses,
    output:
        parsed=temp("results/curate/{teacher}/shards/{shard}/parsed.jsonl"),
        excluded=temp("results/curate/{teacher}/shards/{shard}/parsed_excluded.jsonl"),
        report=temp("results/curate/{teacher}/shards/{shard}/parsed_report.json"),
        dedup_keys=temp("results/curate/{teacher}/shards/{shard}/dedup_keys.npz"),
    log:
        "logs/curate/{teacher}/parse-{shard}.log",
    conda:
        "../envs/generate.yaml"
    params:
        settings=stage_what(config, "parse"),
    script:
        "../scripts/parse_responses.py"


rule merge_parsed:
    input:
        unpack(
            curation_shard_files(
                ("parsed", "parsed.jsonl"), ("excluded", "parsed_excluded.jsonl"), ("reports", "parsed_report.json")
            )
        ),
    output:
        parsed="results/curate/{teacher}/parsed.jsonl",
        excluded="results/curate/{teacher}/parsed_excluded.jsonl",
        report="results/curate/{teacher}/parsed_report.json",
    log:
        "logs/curate/{teacher}/parse.log",
    conda:
        "../envs/generate.yaml"
    script:
        "../scripts/merge_parsed.py"


rule rank_duplicates:
    # The exact dedup's one global step: the paper's shuffle and first-wins pass over every parsed
    # row's keys (seed, problem and solution digests), giving each shard its verdicts.
    input:
        unpack(curation_shard_files(("dedup_keys", "dedup_keys.npz"))),
        parsed=rules.merge_parsed.output.parsed,
    output:
        verdicts=temp(expand("results/curate/{{teacher}}/shards/{shard}/dedup_verdicts.npz", shard=CURATE_SHARDS)),
    log:
        "logs/curate/{teacher}/dedup.log",
    conda:
        "../envs/generate.yaml"
    params:
        settings=stage_what(config, "clean"),
    script:
        "../scripts/rank_duplicates.py"


rule clean_pairs:
    input:
        parsed=rules.merge_parsed.output.parsed,
        verdicts="results/curate/{teacher}/shards/{shard}/dedup_verdicts.npz",
    output:
        clean=temp("results/curate/{teacher}/shards/{shard}/clean.jsonl"),
        clean_ranks=temp("results/curate/{teacher}/shards/{shard}/clean.jsonl.ranks.npy"),
        excluded=temp("results/curate/{teacher}/shards/{shard}/clean_excluded.jsonl"),
        excluded_ranks=temp("results/curate/{teacher}/shards/{shard}/clean_excluded.jsonl.ranks.npy"),
        report=temp("results/curate/{teacher}/shards/{shard}/clean_report.json"),
    log:
        "logs/curate/{teacher}/clean-{shard}.log",
    conda:
        "../envs/generate.yaml"
    params:
        settings=stage_what(config, "clean"),
    script:
        "../scripts/clean_pairs.py"


rule merge_clean:
    input:
        unpack(
            curation_shard_files(
                ("clean", "clean.jsonl"),
                ("clean_ranks", "clean.jsonl.ranks.npy"),
                ("excluded", "clean_excluded.jsonl"),
                ("excluded_ranks", "clean_excluded.jsonl.ranks.npy"),
                ("reports", "clean_report.json"),
            )
        ),
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
        "../scripts/merge_clean.py"


rule decontaminate_pairs:
    input:
        unpack(decontamination_inputs),
        clean=rules.merge_clean.output.clean,
    output:
        decontaminated=temp("results/curate/{teacher}/shards/{shard}/decontaminated.jsonl"),
        excluded=temp("results/curate/{teacher}/shards/{shard}/decontaminated_excluded.jsonl"),
        report=temp("results/curate/{teacher}/shards/{shard}/decontaminated_report.json"),
    log:
        "logs/curate/{teacher}/decontaminate-{shard}.log",
    conda:
        "../envs/generate.yaml"
    params:
        benchmarks=BENCHMARK_SOURCES,
        settings=stage_what(config, "decontaminate"),
    script:
        "../scripts/decontaminate_pairs.py"


rule merge_decontamination:
    input:
        unpack(
            curation_shard_files(
                ("decontaminated", "decontaminated.jsonl"),
                ("excluded", "decontaminated_excluded.jsonl"),
                ("reports", "decontaminated_report.json"),
            )
        ),
    output:
        decontaminated="results/curate/{teacher}/decontaminated.jsonl",
        excluded="results/curate/{teacher}/decontaminated_excluded.jsonl",
        report="results/curate/{teacher}/decontaminated_report.json",
    log:
        "logs/curate/{teacher}/decontaminate.log",
    conda:
        "../envs/generate.yaml"
    script:
        "../scripts/merge_decontamination.py"


rule summarize_curation:
    input:
        parse=rules.merge_parsed.output.report,
        clean=rules.merge_clean.output.report,
        decontaminate=rules.merge_decontamination.output.report,
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
