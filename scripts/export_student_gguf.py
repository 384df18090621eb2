# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import export
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
export.run(
    model_dir=snakemake.input.model,
    output=snakemake.output.gguf,
    base_gguf=snakemake.params.base_gguf,
    gguf_type=snakemake.params.gguf_type,
)
