# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import similarity
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
similarity.run_terms(
    shard_terms=snakemake.input.shard_terms,
    compare=dict(zip(snakemake.params.compare, snakemake.input.compared, strict=True)),
    humaneval=snakemake.input.humaneval,
    terms=snakemake.output.terms,
    idf=snakemake.output.idf,
)
