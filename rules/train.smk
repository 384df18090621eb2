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
        sft="results/sft/{data}.jsonl",
    params:
        settings=lambda wildcards: SFT_DATA[wildcards.data],
    log:
        "logs/sft/{data}.log",
    localrule: True  # a download: login nodes reach the hub where compute nodes often cannot
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/import_sft_data.py"


rule train_student:
    input:
        unpack(train_inputs),
    output:
        model=directory("results/models/{run}/model"),
        metrics="results/models/{run}/train_metrics.json",
    params:
        settings=lambda wildcards: run_settings(config, wildcards.run),
        cache_dir=CACHE_DIR,
    threads: 2
    resources:
        gpu=train_gpus,
    log:
        "logs/train/{run}.log",
    benchmark:
        "logs/benchmarks/train/{run}.tsv"
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/train_student.py"


rule export_student_gguf:
    input:
        model="results/models/{run}/model",
    output:
        gguf="results/models/{run}/model.gguf",
    params:
        # The base GGUF whose metadata (tokenizer, architecture) the export copies.
        base_gguf=lambda wildcards: root_student(config, wildcards.run)[1]["gguf"],
        gguf_type=config["evaluate"]["gguf_type"],
    log:
        "logs/export/{run}.log",
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/export_student_gguf.py"
