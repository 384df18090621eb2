# Snakemake adapter: read the snakemake object, call the library, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import stages

stages.setup_logging(snakemake.log[0])
stages.run_score(
    snakemake.wildcards.benchmark,
    snakemake.input.shards,
    snakemake.wildcards.model,
    snakemake.output.samples,
    snakemake.output.scores,
    snakemake.params.settings,
    snakemake.params.cache_dir,
    threads=snakemake.threads,
    log_dir=snakemake.params.log_dir,
)
