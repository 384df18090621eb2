# Snakemake adapter: read the snakemake object, call the library, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import stages

stages.setup_logging(snakemake.log[0])
scores = {
    model: {language: f"results/multipl-e/{model}/{language}/scores.json" for language in snakemake.params.languages}
    for model in snakemake.params.models
}
stages.run_table2(scores, snakemake.input.paper, snakemake.output.table)
