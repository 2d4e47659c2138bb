"""The Alexa custom skill: handlers on ask-sdk-core, served by flask-ask-sdk.

May import ``catalog``, ``nlu`` and ``account_link``. Importing this package does no
work; :func:`skill.builder.build_skill` assembles the skill.
"""
