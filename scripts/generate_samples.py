# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import gpus, settings
from ossinstruct.evaluate import samples
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
# before anything touches CUDA:
gpus.assign(count=snakemake.resources.gpu, key="evaluate.gpus", settings=snakemake.config["gpus"])
samples.run(
    benchmark=snakemake.wildcards.benchmark,
    dataset=snakemake.input.dataset,
    model_file=snakemake.params.model_file,
    model_name=snakemake.wildcards.model,
    samples=snakemake.output.samples,
    settings=settings.for_job(snakemake.params.settings, snakemake.config, "samples", model=snakemake.wildcards.model),
    shard=snakemake.wildcards.shard,
    threads=snakemake.threads,
    log_dir=snakemake.params.log_dir,
)
