# Snakemake adapter: read the snakemake object, call the library, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import stages

stages.setup_logging(snakemake.log[0])
stages.run_export(snakemake.input.model, snakemake.output.gguf, snakemake.params.base_gguf, snakemake.params.gguf_type)
