# Snakemake adapter: read the snakemake object, call the library, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import stages

stages.setup_logging(snakemake.log[0])
stages.run_decontaminate(
    snakemake.input.clean,
    snakemake.output.decontaminated,
    snakemake.output.excluded,
    snakemake.output.report,
    snakemake.params.settings,
    snakemake.params.benchmarks,
)
