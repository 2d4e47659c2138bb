"""Errors of the NLU package."""

from __future__ import annotations


class NluError(Exception):
    """Base class of every error the ``nlu`` package raises."""


class ModelError(NluError):
    """The interaction model is inconsistent (unknown slot, duplicate intent, ...)."""
