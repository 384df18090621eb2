# Stage 2: teacher responses, one per seed, through an OpenAI-compatible server (paper §2.1).


rule generate_responses:
    input:
        seeds=f"results/seeds/{CORPUS}.jsonl",
    output:
        responses="results/generate/{teacher}/responses.jsonl",
        report="results/generate/{teacher}/report.json",
    params:
        # Only what decides the answers; see ossinstruct.teacher.request_settings.
        settings=request_settings(config["teacher"]),
        cache_dir=CACHE_DIR,
    threads: 2
    resources:
        # A vLLM/SGLang teacher runs on the job's GPUs; a hosted or llama.cpp teacher needs none.
        gpu=TEACHER_GPUS,
    log:
        main="logs/generate/{teacher}.log",
        server="logs/generate/{teacher}.server.log",
    benchmark:
        "logs/benchmarks/generate/{teacher}.tsv"
    conda:
        "../envs/generate.yaml"
    script:
        "../scripts/generate_responses.py"
