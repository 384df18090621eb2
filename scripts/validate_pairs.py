# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import settings, validate
from ossinstruct.logs import setup_logging
from ossinstruct.validate.verdicts import cache_files

setup_logging(snakemake.log[0])
cache, others = cache_files(snakemake.params.cache_dir, snakemake.wildcards.teacher, snakemake.wildcards.shard)
validate.run(
    rows=snakemake.input.tests,
    kept=snakemake.output.validated,
    excluded=snakemake.output.excluded,
    report=snakemake.output.report,
    settings=snakemake.params.settings,
    sandbox=settings.how(snakemake.config, "validate")["sandbox"],
    threads=snakemake.threads,
    shard=snakemake.wildcards.shard,
    cache=str(cache),
    cache_others=others,
)
