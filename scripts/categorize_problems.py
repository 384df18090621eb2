# Snakemake adapter: read the snakemake object, call the library, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import torch

from ossinstruct import stages

torch.set_num_threads(snakemake.threads)
stages.setup_logging(snakemake.log[0])
stages.run_categories(
    snakemake.input.rows,
    snakemake.params.settings,
    snakemake.output.summary,
    snakemake.output.figure,
    snakemake.output.assignments,
)
