# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import parse
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
parse.run(
    responses=snakemake.input.responses,
    parsed=snakemake.output.parsed,
    excluded=snakemake.output.excluded,
    report=snakemake.output.report,
    settings=snakemake.params.settings,
)
