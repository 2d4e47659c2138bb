"""Speech recognition and the local intent parser.

Imports no other voicecart package: the interaction model arrives as a value of the
types in :mod:`nlu.model`.
"""

from nlu.errors import ModelError, NluError
from nlu.model import IntentDef, InteractionModel, SlotDef, SlotTypeDef, SlotValue

__all__ = [
    "IntentDef",
    "InteractionModel",
    "ModelError",
    "NluError",
    "SlotDef",
    "SlotTypeDef",
    "SlotValue",
]
