# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import analysis
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
analysis.run_similarity(
    rows=snakemake.input.rows,
    compare=dict(zip(snakemake.params.compare, snakemake.input.compared, strict=True)),
    humaneval=snakemake.input.humaneval,
    summary=snakemake.output.summary,
    per_row=snakemake.output.per_row,
    figure=snakemake.output.figure,
    name=f"OSS-Instruct ({snakemake.wildcards.teacher})",
)
