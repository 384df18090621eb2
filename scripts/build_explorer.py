# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import settings
from ossinstruct.explore import database
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
if snakemake.rule == "explore_teacher":
    given = dict(snakemake.input.items())
    database.run_teacher(
        seeds=given["seeds"],
        responses=given["responses"],
        curation={
            k: given[k]
            for k in ("parsed_excluded", "clean_excluded", "decontaminated", "decontaminated_excluded", "report")
        },
        analysis={k: given[k] for k in ("categories", "similarity")},
        validation={k: given[k] for k in ("validated", "validated_excluded") if k in given} or None,
        sft=given["sft"],
        benchmarks=snakemake.params.benchmarks,
        sample=snakemake.params.sample,
        cache_dir=snakemake.params.cache_dir,
        database=snakemake.output.database,
        page=snakemake.output.page,
        teacher=snakemake.wildcards.teacher,
    )
else:
    database.run_eval(
        evalplus=snakemake.params.evalplus,
        multipl_e=snakemake.params.multipl_e,
        replay={**snakemake.params.replay, "workers": snakemake.threads},
        sandbox=settings.how(snakemake.config, "replay")["sandbox"],  # where the code runs, read now (how, not what)
        models=snakemake.params.models,
        database=snakemake.output.database,
        page=snakemake.output.page,
    )
