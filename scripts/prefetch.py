# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import hub

hub.go_online()  # before any Hugging Face library is imported: this rule is the one that downloads

from ossinstruct.logs import setup_logging  # noqa: E402

setup_logging(snakemake.log[0])
hub.run(references=snakemake.params.references, built=snakemake.params.built, output=snakemake.output.manifest)
