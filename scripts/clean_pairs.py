# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import dedup
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
dedup.run_shard(
    parsed=snakemake.input.parsed,
    shard=snakemake.wildcards.shard,
    verdicts=snakemake.input.verdicts,
    clean=snakemake.output.clean,
    excluded=snakemake.output.excluded,
    report=snakemake.output.report,
    settings=snakemake.params.settings,
)
