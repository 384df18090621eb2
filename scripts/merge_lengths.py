# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import lengths
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
lengths.merge_lengths(
    shard_counts=snakemake.input.counts,
    tokenizer=snakemake.params.tokenizer,
    summary=snakemake.output.summary,
    figure=snakemake.output.figure,
)
