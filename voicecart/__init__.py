"""voicecart's settings, database plumbing and ``voicecart`` command line.

``app.py`` composes the packages into services and the Flask app; this package holds
what it (and the CLI, the tests and the benchmarks) starts from. Importing it does
nothing: see :mod:`voicecart.settings`, :mod:`voicecart.database` and
:mod:`voicecart.cli`.
"""
