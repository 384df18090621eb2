# Snakemake adapter: read the snakemake object, call the library with keywords, nothing else.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

from ossinstruct import hub

hub.go_online()  # a download (a local rule): before any Hugging Face library is imported

from ossinstruct import sft  # noqa: E402
from ossinstruct.logs import setup_logging  # noqa: E402

setup_logging(snakemake.log[0])
sft.run_import(name=snakemake.wildcards.data, settings=snakemake.params.settings, output=snakemake.output.rows)
