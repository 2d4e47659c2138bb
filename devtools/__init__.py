"""Development tools on top of the local channel: the YAML dialogue-test runner, the
console simulator and the fresh demo databases both run on.

Not part of serving: ``voicecart test-dialogs`` and ``voicecart simulate`` (and the
tests) use it. May import every project package; none of them imports ``devtools``.
"""
