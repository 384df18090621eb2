# Everything the config names on the Hugging Face Hub, fetched where the network is (ossinstruct.hub):
# the seeds and instruction sets streamed from the Hub (their files), and every model, tokenizer and
# benchmark dataset into the Hugging Face cache (HF_HOME). With `hub.offline: true` the other jobs
# then read only that cache.


rule prefetch:
    input:
        list(streamed_sources(config)),
    output:
        manifest=HUB_MANIFEST,
    log:
        "logs/prefetch.log",
    localrule: True  # a download: login nodes reach the hub where compute nodes often cannot
    conda:
        "../envs/train.yaml"
    params:
        # what is fetched (a new reference fetches again); hub.offline only says how other jobs run
        references=[hub_reference_row(reference) for reference in hub_references(config)],
        built=streamed_sources(config),
    script:
        "../scripts/prefetch.py"
