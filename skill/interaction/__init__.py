"""The interaction model, defined once, with its Alexa export and its lint.

:func:`build_model` makes the model (intents, slots, samples and the catalogue's
``PRODUCT`` values) the local parser, the recognition grammar and Alexa all start from;
:func:`render_package` and :func:`write_package` lay it out as ``skill-package/`` for the
ASK CLI; :func:`lint_model` says what Alexa's build would reject and what would confuse.
"""

from skill.interaction.export import render_package, write_package
from skill.interaction.lint import Finding, lint_model
from skill.interaction.model import CatalogEntry, build_model

__all__ = [
    "CatalogEntry",
    "Finding",
    "build_model",
    "lint_model",
    "render_package",
    "write_package",
]
