# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct.export import export_hf
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
export_hf(gguf=snakemake.params.gguf, output=snakemake.output.model)
