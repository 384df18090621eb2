# Snakemake adapter: read the snakemake object, call the library, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import stages

stages.setup_logging(snakemake.log[0])
stages.run_import_sft(snakemake.wildcards.data, snakemake.params.settings, snakemake.output.rows)
