# Stages 4-5: Magicoder fine-tuning data, the fine-tuned students, and their GGUF export (paper §3).


rule build_sft_data:
    input:
        decontaminated="results/curate/{teacher}/decontaminated.jsonl",
    output:
        sft="results/sft/{teacher}.jsonl",
    log:
        "logs/sft/{teacher}.log",
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/build_sft_data.py"


rule import_sft_data:
    # Another instruction set (MagicoderS: evol-codealpaca-v1; the ablations' data) as fine-tuning rows.
    input:
        sft_data_source,
    output:
        rows="results/import/{data}.jsonl",
    log:
        "logs/sft/{data}.import.log",
    localrule: True  # a download: login nodes reach the hub where compute nodes often cannot
    conda:
        "../envs/train.yaml"
    params:
        settings=lambda wildcards: SFT_DATA[wildcards.data],
    script:
        "../scripts/import_sft_data.py"


rule decontaminate_sft_data:
    # The paper decontaminated every set it trained on (Magicoder-Evol-Instruct-110K is evol-codealpaca-v1
    # decontaminated): the same rule and benchmark families as OSS-Instruct, on the set's own columns.
    input:
        unpack(decontamination_inputs),
        rows=rules.import_sft_data.output.rows,
    output:
        sft="results/sft/{data}.jsonl",
        excluded="results/sft/{data}_excluded.jsonl",
        report="results/sft/{data}_decontamination.json",
    log:
        "logs/sft/{data}.decontaminate.log",
    conda:
        "../envs/generate.yaml"
    params:
        benchmarks=BENCHMARK_SOURCES,
        data_format=lambda wildcards: SFT_DATA[wildcards.data]["format"],
        settings=stage_what(config, "decontaminate_sft_data"),
    script:
        "../scripts/decontaminate_sft_data.py"


rule train_student:
    input:
        unpack(train_inputs),
    output:
        model=protected(directory("results/models/{run}/model")),  # days of GPU time: never deleted by a rerun
        metrics="results/models/{run}/train_metrics.json",
    log:
        "logs/train/{run}.log",
    benchmark:
        "logs/benchmarks/train/{run}.tsv"
    conda:
        "../envs/train.yaml"
    threads: 2
    resources:
        gpu=train_gpus,
        slurm_partition=gpu_partition(train_gpus),
    params:
        settings=lambda wildcards: stage_what(config, "train", run=wildcards.run),
        cache_dir=CACHE_DIR,
    script:
        "../scripts/train_student.py"


rule plot_loss_curve:
    input:
        metrics="results/models/{run}/train_metrics.json",
    output:
        figure=report(
            "results/models/{run}/loss_curve.png",
            caption="../report/loss_curve.rst",
            category="Training",
            labels={"run": "{run}"},
        ),
    log:
        "logs/train/{run}.loss_curve.log",
    conda:
        "../envs/analyze.yaml"
    script:
        "../scripts/plot_loss_curve.py"


rule export_student_gguf:
    input:
        model="results/models/{run}/model",
    output:
        gguf="results/models/{run}/model.gguf",
    log:
        "logs/export/{run}.log",
    conda:
        "../envs/train.yaml"
    params:
        # The base GGUF whose metadata (tokenizer, architecture) the export copies.
        base_gguf=lambda wildcards: root_student(config, wildcards.run)[1]["gguf"],
        gguf_type=config["evaluate"]["gguf_type"],
    script:
        "../scripts/export_student_gguf.py"


rule export_student_hf:
    # A student given only as a GGUF file, as a Hugging Face folder: vLLM serves folders.
    output:
        model=directory("results/students/{model}/hf"),
    log:
        "logs/export/{model}-hf.log",
    conda:
        "../envs/train.yaml"
    params:
        gguf=lambda wildcards: config["students"][wildcards.model]["gguf"],
    script:
        "../scripts/export_hf.py"
