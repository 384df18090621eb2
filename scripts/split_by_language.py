# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import ablation
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
ablation.run_language_split(
    decontaminated=snakemake.input.decontaminated,
    python=snakemake.output.python,
    other=snakemake.output.other,
    aside=snakemake.output.aside,
    report=snakemake.output.report,
    split=snakemake.wildcards.split,
)
