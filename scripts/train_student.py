# Snakemake adapter: read the snakemake object, call the library, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import stages

stages.setup_logging(snakemake.log[0])
stages.run_train(
    snakemake.input.sft,
    snakemake.output.model,
    snakemake.output.metrics,
    snakemake.params.settings,
    snakemake.params.cache_dir,
    threads=snakemake.threads,
    base_metrics=snakemake.input.get("base_metrics"),
)
