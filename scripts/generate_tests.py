# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
# params decide the requests (a change reruns the job); how requests are sent and prices come from
# the config and never do.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import gpus, settings
from ossinstruct.logs import setup_logging
from ossinstruct.validate import generate_tests

teacher = snakemake.wildcards.teacher
setup_logging(snakemake.log.main)
# before anything touches CUDA:
gpus.assign(count=snakemake.resources.gpu, key="teacher.serve.gpus", settings=snakemake.config["gpus"])
generate_tests.run(
    pairs=snakemake.input.pairs,
    tests=snakemake.output.tests,
    report=snakemake.output.report,
    settings=snakemake.params.settings,
    teacher_settings=snakemake.params.teacher,
    how=settings.how(snakemake.config, "generate", teacher=teacher),
    cache_dir=snakemake.params.cache_dir,
    threads=snakemake.threads,
    server_log=snakemake.log.server,
    model_folder=snakemake.input.get("model"),
    price=snakemake.config["prices"].get(snakemake.params.teacher["model"]),
)
