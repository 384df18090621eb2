# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import gpus, settings, train
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
# before anything touches CUDA:
gpus.assign(count=snakemake.resources.gpu, key="train.gpus", settings=snakemake.config["gpus"])
train.run(
    sft=snakemake.input.sft,
    model_dir=snakemake.output.model,
    metrics=snakemake.output.metrics,
    settings=snakemake.params.settings,
    how=settings.how(snakemake.config, "train", run=snakemake.wildcards.run),
    cache_dir=snakemake.params.cache_dir,
    threads=snakemake.threads,
    base_metrics=snakemake.input.get("base_metrics"),
)
