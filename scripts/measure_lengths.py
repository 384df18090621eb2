# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import lengths
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
lengths.run_lengths_shard(
    rows=snakemake.input.rows,
    shard=snakemake.wildcards.shard,
    tokenizer=snakemake.params.tokenizer,
    counts=snakemake.output.counts,
)
