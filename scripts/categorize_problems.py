# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

import torch

from ossinstruct import categories
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
categories.run_categories_shard(
    rows=snakemake.input.rows,
    shard=snakemake.wildcards.shard,
    settings=snakemake.params.settings,
    assignments=snakemake.output.assignments,
)
