# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import similarity
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
similarity.merge(
    shard_per_row=snakemake.input.shard_per_row,
    shard_scores=snakemake.input.shard_scores,
    terms=snakemake.input.terms,
    idf=snakemake.input.idf,
    compare=dict(zip(snakemake.params.compare, snakemake.input.compared, strict=True)),
    humaneval=snakemake.input.humaneval,
    name=f"OSS-Instruct ({snakemake.wildcards.teacher})",
    summary=snakemake.output.summary,
    per_row=snakemake.output.per_row,
    figure=snakemake.output.figure,
)
