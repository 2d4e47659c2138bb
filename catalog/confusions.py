"""Words speech recognisers hear instead of grocery words: heard -> what was probably meant.

Extend this table as transcripts show new confusions. Each entry is an *alternative*
the index also tries (weight 0.9), never a blind replacement: if the catalogue sells
the heard word itself, that still matches best. Sound-alikes that share a metaphone
code (pear/pair, leek/leak, cereal/serial) are found without an entry here.
"""

from __future__ import annotations

CONFUSIONS: dict[str, tuple[str, ...]] = {
    # Different metaphone codes, so the phonetic index cannot pair them.
    "hole": ("whole",),
    "flower": ("flour",),
    "flowers": ("flour",),
    "time": ("thyme",),
    "muscle": ("mussel",),
    "muscles": ("mussels",),
    "clothes": ("cloves",),
    "great": ("greek",),
    "turkish": ("turkey",),
    "carats": ("carrots",),
    "carat": ("carrot",),
    "carrots": ("carats",),
    "doe": ("dough",),
    # Recogniser errors on rarer words, from voice-shopping transcripts.
    "yes": ("smith",),  # "granny smith" heard as "granny yes"
}


def alternatives(word: str) -> tuple[str, ...]:
    return CONFUSIONS.get(word, ())
