# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import curation
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
curation.run(
    step_reports=[snakemake.input.parse, snakemake.input.clean, snakemake.input.decontaminate],
    output=snakemake.output.report,
)
