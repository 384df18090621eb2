# Stages 4-5: Magicoder fine-tuning data, the fine-tuned student, and its GGUF export (paper §3).


rule build_sft_data:
    input:
        decontaminated=f"results/curate/{TEACHER}/decontaminated.jsonl",
    output:
        sft="results/sft/{teacher}.jsonl",
    log:
        "logs/sft/{teacher}.log",
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/build_sft_data.py"


rule train_student:
    input:
        sft=f"results/sft/{TEACHER}.jsonl",
    output:
        model=directory("results/models/{run}/model"),
        metrics="results/models/{run}/train_metrics.json",
    params:
        settings=config["train"],
        cache_dir=CACHE_DIR,
    threads: 2
    resources:
        gpu=1,
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
        model=rules.train_student.output.model,
    output:
        gguf="results/models/{run}/model.gguf",
    params:
        settings={
            "student": config["train"]["student"],
            "gguf_type": config["evaluate"]["gguf_type"],
        },
    log:
        "logs/export/{run}.log",
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/export_student_gguf.py"
