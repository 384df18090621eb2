# Snakemake adapter: read the snakemake object, call the library, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import stages

stages.setup_logging(snakemake.log[0])
stages.run_similarity(
    snakemake.input.rows,
    snakemake.params.compare,
    snakemake.input.humaneval,
    snakemake.output.summary,
    snakemake.output.figure,
    f"OSS-Instruct ({snakemake.wildcards.teacher})",
)
