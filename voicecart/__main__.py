"""``python -m voicecart``: the ``voicecart`` command without the console script."""

from voicecart.cli import main

if __name__ == "__main__":
    main()
