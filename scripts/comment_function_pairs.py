# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import ablation
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
ablation.run_comment_function_pairs(
    seeds=snakemake.input.seeds,
    documents=snakemake.input.documents,
    output=snakemake.output.pairs,
    excluded=snakemake.output.excluded,
    report=snakemake.output.report,
    settings=snakemake.params.settings,
)
