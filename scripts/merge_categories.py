# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import categories
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
categories.merge_categories(
    shard_assignments=snakemake.input.assignments,
    settings=snakemake.params.settings,
    summary=snakemake.output.summary,
    figure=snakemake.output.figure,
    assignments=snakemake.output.assignments,
)
