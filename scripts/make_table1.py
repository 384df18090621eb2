# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import tables
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
tables.run_table1(
    scores=tables.by_model(snakemake.input.scores, snakemake.params.models, snakemake.params.benchmarks),
    paper=snakemake.input.paper,
    output=snakemake.output.table,
)
