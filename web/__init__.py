"""The HTTP channels: the ``/api/v1`` JSON API, the local text and voice channels, the
shop pages, the account-linking pages and OAuth endpoints, and the API's description.

Thin Flask blueprints over ``account_link``'s services and ``skill``'s dialogue. They
share one per-request transaction (:mod:`web.common`), one authentication (:mod:`web.auth`:
bearer tokens for programs, a signed-in session for browsers, one sign-in form) and one
JSON error shape (:mod:`web.errors`). May import ``catalog``, ``nlu``, ``account_link``
and ``skill``; of the project packages none imports ``web`` (the app registers it).
"""
