# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct.logs import setup_logging
from ossinstruct.teacher import generate

setup_logging(snakemake.log[0])
generate.merge(
    shard_responses=snakemake.input.responses,
    shard_reports=snakemake.input.reports,
    responses=snakemake.output.responses,
    report=snakemake.output.report,
)
