# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct.config import with_how
from ossinstruct.evaluate import scoring
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
scoring.run(
    benchmark=snakemake.wildcards.benchmark,
    dataset=snakemake.input.dataset,
    shard_samples=snakemake.input.shards,
    model_name=snakemake.wildcards.model,
    samples=snakemake.output.samples,
    scores=snakemake.output.scores,
    settings=with_how("evaluate", snakemake.params.settings, snakemake.config),
    cache_dir=snakemake.params.cache_dir,
    threads=snakemake.threads,
    log_dir=snakemake.params.log_dir,
    sandbox=snakemake.config.get("sandbox"),
)
