# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import settings
from ossinstruct.evaluate import scoring
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
how = settings.how(snakemake.config, "scoring", model=snakemake.wildcards.model)
scoring.run(
    benchmark=snakemake.wildcards.benchmark,
    dataset=snakemake.input.dataset,
    shard_samples=snakemake.input.shards,
    model_name=snakemake.wildcards.model,
    samples=snakemake.output.samples,
    scores=snakemake.output.scores,
    settings=settings.for_job(snakemake.params.settings, snakemake.config, "scoring", model=snakemake.wildcards.model),
    cache_dir=snakemake.params.cache_dir,
    threads=snakemake.threads,
    log_dir=snakemake.params.log_dir,
    sandbox=how["sandbox"],
)
