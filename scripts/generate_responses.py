# Snakemake adapter: read the snakemake object, call the library, nothing else.
# params.settings decide the answers (a change reruns the job); how requests are sent (concurrency,
# budgets, retries, batch mode, server address) and prices come from the config and never do.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import stages
from ossinstruct.models import teacher_config

teacher = teacher_config(snakemake.config, snakemake.wildcards.teacher)
stages.setup_logging(snakemake.log.main)
stages.run_generate(
    snakemake.input.seeds,
    snakemake.output.responses,
    snakemake.output.report,
    snakemake.params.settings,
    snakemake.params.cache_dir,
    threads=snakemake.threads,
    server_log=snakemake.log.server,
    transport=teacher,
    price=snakemake.config["prices"].get(teacher["model"]),
    shard=snakemake.wildcards.shard,
)
