# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import dedup
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
dedup.merge(
    shard_clean=snakemake.input.clean,
    shard_excluded=snakemake.input.excluded,
    shard_reports=snakemake.input.reports,
    clean=snakemake.output.clean,
    excluded=snakemake.output.excluded,
    report=snakemake.output.report,
    settings=snakemake.params.settings,
)
