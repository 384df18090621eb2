# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import dedup
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
dedup.run_ranks(
    keys=snakemake.input.dedup_keys,
    parsed=snakemake.input.parsed,
    verdicts=snakemake.output.verdicts,
    settings=snakemake.params.settings,
)
