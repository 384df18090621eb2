# Snakemake adapter: read the snakemake object, call the library, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import stages

stages.setup_logging(snakemake.log[0])
stages.run_decontaminate_import(
    snakemake.input.rows,
    snakemake.output.sft,
    snakemake.output.excluded,
    snakemake.output.report,
    snakemake.params.data_format,
    snakemake.params.settings,
    snakemake.params.benchmarks,
)
