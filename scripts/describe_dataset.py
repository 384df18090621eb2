# Snakemake adapter: read the snakemake object, call the library, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import stages

stages.setup_logging(snakemake.log[0])
stages.run_dataset_card(
    snakemake.input.rows,
    snakemake.input.seeds_report,
    snakemake.input.generation_report,
    snakemake.input.curation_report,
    snakemake.params.config,
    snakemake.output.data,
    snakemake.output.manifest,
    snakemake.output.card,
)
