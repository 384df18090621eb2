# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import card, settings
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
card.run(
    rows=snakemake.input.rows,
    seeds_report=snakemake.input.seeds_report,
    generation_report=snakemake.input.generation_report,
    curation_report=snakemake.input.curation_report,
    validation_report=snakemake.input.validation_report or None,
    config={
        **snakemake.params.config,
        "teacher": settings.for_job(snakemake.params.config["teacher"], snakemake.config, "card_teacher"),
    },
    data=snakemake.output.data,
    manifest=snakemake.output.manifest,
    card=snakemake.output.card,
)
