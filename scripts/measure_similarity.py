# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import similarity
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
similarity.run_shard(
    rows=snakemake.input.rows,
    shard=snakemake.wildcards.shard,
    own_terms=snakemake.input.own_terms,
    terms=snakemake.input.terms,
    idf=snakemake.input.idf,
    humaneval=snakemake.input.humaneval,
    per_row=snakemake.output.per_row,
    scores=snakemake.output.scores,
)
