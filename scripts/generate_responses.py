# Snakemake adapter: read the snakemake object, call the library, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import stages

stages.setup_logging(snakemake.log[0])
stages.run_generate(
    snakemake.input.seeds,
    snakemake.output.responses,
    snakemake.output.report,
    snakemake.params.settings,
    snakemake.params.cache_dir,
    threads=snakemake.threads,
    server_log=snakemake.log.server,
)
