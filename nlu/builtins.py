"""What shoppers say for Alexa's built-in intents.

Alexa recognises these without samples in the skill's model; the local parser has to be
told. Kept here, beside the parser, as templates (see :mod:`nlu.grammar`).
"""

from __future__ import annotations

from nlu.grammar import expand_all

BUILTIN_TEMPLATES: dict[str, tuple[str, ...]] = {
    "AMAZON.YesIntent": (
        "(yes|yeah|yep|yup|sure|ok|okay|alright|all right|absolutely|definitely|of course"
        "|correct|perfect|right) [please|thanks|go ahead|do it|sure]",
        "(please do|go ahead|do it|go for it|sounds good|that's right|that's fine|why not"
        "|sure thing|place it|order it|confirm|confirmed|yes order it|yes place the order"
        "|that works|please go ahead|yes that's right|yes that one|uh huh|mm hmm|yes please"
        "|yeah that's right|uh huh that's it|you got it|yep that's it)",
    ),
    "AMAZON.NoIntent": (
        "(no|nope|nah) [thanks|thank you|i'm good|don't|not now|that's it|that's all]",
        "(don't|do not|not now|not today|not really|no way|not right now|hold off"
        "|i don't want it|don't order it|i'm good|i'm all set|that's all|that's it"
        "|that's everything|nothing else|nothing|i'm fine|negative|nope wrong one"
        "|definitely not|absolutely not|certainly not|no no|of course not|not that one)",
    ),
    "AMAZON.HelpIntent": (
        "(help|help me|help please|what can i say|what can you do|how does this work"
        "|i need help|what are my options|how do i use this|i'm confused|what do i say"
        "|what can i ask|how does it work|what should i say|i need assistance"
        "|i could use some help|what commands are there|what do you do)",
        "how (do i|can i|does one) (order|buy|shop for|add|get) (stuff|things|groceries|items)"
        " [with you|here|with this]",
    ),
    "AMAZON.StopIntent": (
        "(stop|quit|exit|goodbye|bye|good bye|bye bye|stop it|that's enough|see you"
        "|i'm finished|we're done|shut up|end|go away|stop talking|be quiet|stop listening)",
        "(i'm all set|that's all|we're all set|that's it|i'm good) (bye|goodbye|bye bye)",
        "(end|close|finish) [the|this] (session|conversation|chat)",
        "(that'll|that will) be (all|it|everything) [for (today|now)] [thanks|thank you|bye]",
    ),
    "AMAZON.CancelIntent": (
        "(oops|no wait|wait|oh|actually|hmm) (cancel|never mind|forget it|abort|cancel that)",
        "(abort|abort that|cancel|never mind|nevermind|forget it|cancel that|forget that"
        "|scratch that"
        "|don't worry about it|oh never mind|forget about it|drop it|don't bother"
        "|forget what i said|ignore that|ignore what i said"
        "|skip it|skip that)",
    ),
    "AMAZON.NavigateHomeIntent": ("(go home|home|start over)",),
}

BUILTIN_SAMPLES: dict[str, tuple[str, ...]] = {
    name: tuple(expand_all(templates)) for name, templates in BUILTIN_TEMPLATES.items()
}
