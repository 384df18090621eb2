# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import parse
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
parse.run_shard(
    responses=snakemake.input.responses,
    shard=snakemake.wildcards.shard,
    parsed=snakemake.output.parsed,
    excluded=snakemake.output.excluded,
    report=snakemake.output.report,
    keys=snakemake.output.dedup_keys,
    settings=snakemake.params.settings,
)
