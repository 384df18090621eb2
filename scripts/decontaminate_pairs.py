# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import decontaminate
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
decontaminate.run_shard(
    rows=snakemake.input.clean,
    shard=snakemake.wildcards.shard,
    kept=snakemake.output.decontaminated,
    excluded=snakemake.output.excluded,
    report=snakemake.output.report,
    settings=snakemake.params.settings,
    benchmarks=snakemake.params.benchmarks,
)
