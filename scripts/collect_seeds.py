# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import hub

hub.go_online()  # a download (a local rule): before any Hugging Face library is imported

from ossinstruct import seeds  # noqa: E402
from ossinstruct.logs import setup_logging  # noqa: E402

setup_logging(snakemake.log[0])
seeds.run(
    output=snakemake.output.seeds,
    report=snakemake.output.report,
    settings=snakemake.params.settings,
    documents=snakemake.output.documents,
)
