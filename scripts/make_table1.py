# Snakemake adapter: read the snakemake object, call the library, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import stages

stages.setup_logging(snakemake.log[0])
scores = {
    model: {benchmark: f"results/eval/{model}/{benchmark}/scores.json" for benchmark in snakemake.params.benchmarks}
    for model in snakemake.params.models
}
stages.run_table1(scores, snakemake.input.paper, snakemake.output.table)
