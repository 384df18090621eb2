# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import settings, validate
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
validate.run(
    rows=snakemake.input.tests,
    kept=snakemake.output.validated,
    excluded=snakemake.output.excluded,
    report=snakemake.output.report,
    settings=snakemake.params.settings,
    sandbox=settings.how(snakemake.config, "validate")["sandbox"],
    threads=snakemake.threads,
)
