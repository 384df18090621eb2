# Snakemake adapter: read the snakemake object, call the library, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import stages

stages.setup_logging(snakemake.log[0])
stages.run_multipl_e_generate(
    snakemake.wildcards.language,
    snakemake.input.prompts,
    snakemake.params.model_file,
    snakemake.wildcards.model,
    snakemake.output.samples,
    snakemake.params.settings,
    snakemake.params.evaluate,
    threads=snakemake.threads,
    log_dir=snakemake.params.log_dir,
)
