# Stage 2: teacher responses, one per seed, through an OpenAI-compatible server (paper §2.1).
# `teacher.shards` splits the seeds into contiguous shards, one job each (a cluster runs them side
# by side, and a failed shard reruns alone); the merge gives exactly the unsharded file.


rule export_teacher_hf:
    # A vLLM/SGLang teacher given as a GGUF file, as a Hugging Face folder: these servers take folders.
    output:
        model=directory(teacher_folder("{teacher}")),
    log:
        "logs/export/teacher-{teacher}-hf.log",
    conda:
        "../envs/train.yaml"
    params:
        gguf=lambda wildcards: served_gguf(teacher_config(config, wildcards.teacher)),
    script:
        "../scripts/export_hf.py"


rule generate_responses:
    input:
        unpack(teacher_model_inputs),
        seeds=f"results/seeds/{CORPUS}.jsonl",
    output:
        responses="results/generate/{teacher}/shards/{shard}/responses.jsonl",
        report="results/generate/{teacher}/shards/{shard}/report.json",
    log:
        main="logs/generate/{teacher}/{shard}.log",
        server="logs/generate/{teacher}/{shard}.server.log",
    benchmark:
        "logs/benchmarks/generate/{teacher}/{shard}.tsv"
    conda:
        "../envs/generate.yaml"
    threads: 2
    resources:
        **TEACHER_RESOURCES,
    params:
        # Only what decides the answers; see ossinstruct.models.request_settings.
        settings=teacher_request_settings,
        cache_dir=CACHE_DIR,
    script:
        "../scripts/generate_responses.py"


rule merge_responses:
    input:
        unpack(teacher_shard_files),
    output:
        responses="results/generate/{teacher}/responses.jsonl",
        report=report(
            "results/generate/{teacher}/report.json",
            caption="../report/generation.rst",
            category="Generation",
            labels={"teacher": "{teacher}", "file": "report.json"},
        ),
    log:
        "logs/generate/{teacher}/merge.log",
    localrule: True
    conda:
        "../envs/generate.yaml"
    script:
        "../scripts/merge_responses.py"
