# Snakemake adapter: read the snakemake object, call the library, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import stages

stages.setup_logging(snakemake.log[0])
stages.run_language_split(
    snakemake.input.decontaminated,
    snakemake.output.python,
    snakemake.output.other,
    snakemake.output.aside,
    snakemake.output.report,
    snakemake.wildcards.rule,
)
