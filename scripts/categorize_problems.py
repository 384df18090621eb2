# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import torch

from ossinstruct import analysis
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
analysis.run_categories(
    rows=snakemake.input.rows,
    settings=snakemake.params.settings,
    summary=snakemake.output.summary,
    figure=snakemake.output.figure,
    assignments=snakemake.output.assignments,
)
