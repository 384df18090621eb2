# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import gpus, multipl_e, settings
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
# before anything touches CUDA:
gpus.assign(count=snakemake.resources.gpu, key="evaluate.gpus", settings=snakemake.config["gpus"])
multipl_e.run_generate(
    language=snakemake.wildcards.language,
    prompts=snakemake.input.prompts,
    model_file=snakemake.params.model_file,
    model_name=snakemake.wildcards.model,
    samples=snakemake.output.samples,
    settings=snakemake.params.settings,
    evaluate=settings.for_job(snakemake.params.evaluate, snakemake.config, "multipl_e_backend"),
    threads=snakemake.threads,
    log_dir=snakemake.params.log_dir,
)
