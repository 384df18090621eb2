# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import tables
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
tables.run_ablation_table(
    table=snakemake.wildcards.table,
    rows=snakemake.params.rows,
    paper=snakemake.input.paper or None,
    output=snakemake.output.table,
)
