# Snakemake adapter: read the snakemake object, call the library, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import stages

stages.setup_logging(snakemake.log[0])
stages.run_multipl_e_execute(
    snakemake.wildcards.language,
    snakemake.input.prompts,
    snakemake.input.samples,
    snakemake.output.results,
    snakemake.output.scores,
    snakemake.params.settings,
    threads=snakemake.threads,
)
