# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import decontaminate
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
decontaminate.merge(
    shard_kept=snakemake.input.decontaminated,
    shard_excluded=snakemake.input.excluded,
    shard_reports=snakemake.input.reports,
    kept=snakemake.output.decontaminated,
    excluded=snakemake.output.excluded,
    report=snakemake.output.report,
)
