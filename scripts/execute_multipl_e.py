# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import multipl_e, settings
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
multipl_e.run_execute(
    language=snakemake.wildcards.language,
    prompts=snakemake.input.prompts,
    samples=snakemake.input.samples,
    results=snakemake.output.results,
    scores=snakemake.output.scores,
    settings=snakemake.params.settings,
    sandbox=settings.how(snakemake.config, "multipl_e_execute")["sandbox"],  # where the code runs, read now
    threads=snakemake.threads,
)
