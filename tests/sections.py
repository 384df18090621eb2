"""Config sections as a validated config holds them: a test's keys over the schema's defaults (the
library reads schema-defaulted keys without fallbacks, as the workflow and the command line give them)."""

import copy

from ossinstruct.config import _schema, fill_defaults


def section(name: str, settings: dict) -> dict:
    """`settings` (a `seeds`, `train`, ... section, partly given) with every default of section `name` filled."""
    filled = copy.deepcopy(settings)
    fill_defaults(filled, _schema()["properties"][name])
    return filled
