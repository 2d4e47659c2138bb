"""The interaction model, defined once: intents, slots and sample utterances.

``build_model(products)`` adds the ``PRODUCT`` slot values from the active catalogue;
the Alexa JSON export, the local parser and the recognition grammar all start here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from nlu.grammar import expand_all, plainest, spread
from nlu.model import IntentDef, InteractionModel, SlotDef, SlotTypeDef, SlotValue
from skill import prompts

INVOCATION_NAME = "voice cart"
PRODUCT_TYPE = "PRODUCT"
MAX_PRODUCT_SLOT_VALUES = 50_000
"""Alexa accepts at most 50,000 custom slot values per model; the best-known go first."""
MAX_SLOT_VALUE_CHARS = 140

MIN_SAMPLES_PER_INTENT = 40
"""Alexa's design guide: a variety of phrasings, "when in doubt, include more"."""
MAX_SAMPLES_PER_INTENT = 180
"""Enough variety for Alexa, few enough for the template parser to try them all."""

CORE_PER_TEMPLATE = 3
"""The shortest forms of every template are always kept (the exact matches)."""

_ADD_ANSWERS = ("{quantity} {item}", "{quantity} {item} please")
"""Add's item question may be answered with a number too ("two limes")."""
_ITEM_ANSWERS = ("{item}", "the {item}", "some {item}", "the {item} please", "{item} please")

# Parts the templates share: where things go, and how shoppers pad a request.
CART = "(my|the) (cart|basket|shopping cart|shopping list|list|order)"
TO_CART = f"(to|in|into) {CART}"
FROM_CART = f"(from|out of|off) {CART}"
ONLY_CART = "(my|the|our) (cart|basket|shopping cart|trolley)"
"""The cart itself, not an order or a list (emptying it is not cancelling an order)."""
POLITE = "(please|for me|thanks|thank you|now)"
ASK = (
    "(can you|could you|would you|will you|can you please|could you please|please"
    "|would you be (kind|good) enough to|would you be so kind as to|would you mind)"
)


def _item(prompt: str, *more: str) -> SlotDef:
    return SlotDef(
        "item", PRODUCT_TYPE, elicitation_prompt=prompt,
        elicitation_samples=(*_ITEM_ANSWERS, *more),
    )  # fmt: skip


def _intent(name: str, *templates: str, slots: tuple[SlotDef, ...] = ()) -> IntentDef:
    """An intent from its templates; its samples are each template's plainest forms,
    then an even spread of the rest of every expansion up to the cap."""
    core = plainest(templates, CORE_PER_TEMPLATE)
    rest = [s for s in expand_all(templates) if s not in set(core)]
    samples = (*core, *spread(rest, MAX_SAMPLES_PER_INTENT - len(core), seed=name))
    return IntentDef(name, samples=samples, slots=slots, templates=templates)


QUANTITY = SlotDef("quantity", "AMAZON.NUMBER")
ANSWER_INTENTS = ("ChooseProductIntent", "VoiceCodeIntent")
"""Said only in answer to "Did you mean ...?" or "Please say your voice code"."""

CUSTOM_INTENTS: tuple[IntentDef, ...] = (
    _intent(
        "AddToCartIntent",
        f"[please] add {{item}} [{TO_CART}|{POLITE}|as well|too]",
        f"[please] add {{quantity}} {{item}} [{TO_CART}|{POLITE}]",
        f"(put|throw|stick|pop) [{{quantity}}] {{item}} (in|into) {CART} [please]",
        f"{ASK} (add|put|get|order|grab|throw in) [{{quantity}}] {{item}} [{TO_CART}|for me]",
        "(i'd like|i would like|i want|i need|we need|i'll take|i'll have|we'll need) "
        "[{quantity}] {item} [please|as well|too]",
        "(we're out of|we ran out of|i'm out of|we are out of|i ran out of|we're running low on"
        "|we're low on|i'm running low on|we're almost out of|we're running out of) {item}",
        "{item} (we're|i'm) (totally|all|completely) out",
        "(i'm gonna need|i'm going to need|we're gonna need|gonna need|need) [{quantity}] {item}"
        " [please|pls]",
        "(get|buy|order|grab|pick up) [me|us] [{quantity}] {item} [please|for me|too]",
        "(can i|could i|may i|can we|could we) (get|have|grab|order) [{quantity}] {item} [please]",
        f"(let's|let us) (add|get|buy|grab) [{{quantity}}] {{item}} [{TO_CART}]",
        "(add|put|include) {item} on (my|the) (list|shopping list|order|cart)",
        "gimme [{quantity}] {item} [please]",
        "how about [some|a|an] {item} [in there|too|as well]",
        "(we|i) could (use|do with) [some|more|a|an] {item}",
        "(do you have|do you guys have|do you carry|do you sell|you got) [any] {item}",
        "(i want|i need|i would like|i'd like) to (add|buy|order|get) [{quantity}] {item}",
        "(i|we) (want|need) (buy|order|get) [{quantity}] {item}",
        "(don't let me forget|don't forget|remind me to get|make sure we get) [the] {item}",
        f"[{ASK}] add (something|an item|a product) [{TO_CART}]",
        "i (want|need|would like) to add something",
        f"[please] add [something] {TO_CART}",
        slots=(_item(prompts.ASK_ITEM_TO_ADD, *_ADD_ANSWERS), QUANTITY),
    ),
    _intent(
        "RemoveFromCartIntent",
        f"[please] (remove|delete|drop|take out|get rid of|cut|scrap|yank|take away|take off)"
        f" [the|my]"
        f" {{item}} "
        f"[{FROM_CART}|please]",
        f"[please] take [the|my] {{item}} (out|off) [(of|from) {CART}|please]",
        f"{ASK} (remove|take out|delete|drop|get rid of) [the|my] {{item}} [{FROM_CART}]",
        "[actually] (i|we) (don't|do not) (need|want) [the] {item} [anymore|any more|after all]",
        "(i|we) (don't|do not) (need|want) [the] {item} (remove|delete) (it|that|them)",
        "no {item} (remove|delete) (it|that|them)",
        "no {item} take (it|that|them|those) out",
        f"(scratch|nix|ditch|lose) [the] {{item}} [{FROM_CART}]",
        "(get|take) the {item} (off|out of) (my|the) (order|cart|basket|list)",
        "(get|take) [the] {item} (outta|out of) (there|here)",
        "(get|take) (it|them|that|those) (out of|off) (my|the) (cart|basket|list|order)",
        "[nah|no|actually] (remove|delete|drop|ditch|get rid of|scrap|lose) (it|that|them|those"
        "|these) [please|too|as well|after all]",
        "[oops] i (didn't|did not) mean to add [the] {item} [take (it|them) (off|out)]",
        "cancel the {item} (in|from|on) (my|the) (cart|basket|list)",
        "i changed my mind about the {item}",
        "never mind the {item}",
        "forget the {item}",
        "no more {item}",
        "(i want|i need|i would like|i'd like) to (remove|take out|delete) [the] {item}",
        f"[{ASK}] (remove|take out|delete) (something|an item) [{FROM_CART}]",
        "i (want|need) to remove something",
        slots=(_item(prompts.ASK_ITEM_TO_REMOVE),),
    ),
    _intent(
        "ReadCartIntent",
        "(what's|what is) (in|on) (my|the) (cart|basket|shopping cart|shopping list|list)"
        " [right now|so far]",
        f"[{ASK}] (read|tell me|list|go over|review|read out|read back) [me] {CART}",
        "what (do i have|have i got|have i put|did i put|have i added|did i add) "
        "[in my cart|in my basket|so far]",
        "(check|open|show me|review) (my|the) (cart|basket)",
        "(how much|what) is (my|the) (cart|basket) [total|worth|so far]",
        "(what's|what is) (my|the) (cart|basket) total",
        "(what's|what is) (the|my) (subtotal|total|damage) [so far]",
        "(what am i|what are we) (buying|getting|ordering)",
        "[tell me] how many (things|items) (are|do i have) in my cart",
        "(recap|summarize|go through|run through) (my|the) (cart|basket)",
        "[my|the] (cart|basket) [please]",
        "how much (does|will) (everything|it all|my cart|my order|all that) come to",
        "how much is (everything|it all|all the stuff) in (my|the) (cart|basket)",
        "how much (does|do|will) (everything|it all|all the stuff|the things) in (my|the)"
        " (cart|basket) cost",
        "(what's|what is) (the|my) (running|current) total [so far]",
        "remind me what (i added|i've added|i have|is in my cart|i put in)",
        "what (did i add|have i added|have i got|have i put in) (already|so far|in there)",
        "(is there anything|is anything|what's|what is there) in (my|the) (cart|basket) [yet|now]",
        "[please] (tell me|say) what's in (my|the) (cart|basket)",
    ),
    _intent(
        "ReorderIntent",
        "[please] (reorder|re order|restock) [my|the|our] {item} [please|for me|again]",
        "[please] (order|buy|get|grab) (more|some more) {item} [please|for me]",
        "[please] (order|buy|get) [my|the|our|some] {item} again [please]",
        "(i need|we need|i want|we want|i'd like) (more|some more) {item}",
        "(get|order|buy) [me] (my|our|the) usual {item} [please]",
        "[i'd like] (my|our|the) usual {item} [please]",
        f"{ASK} (reorder|restock) [my|the|our] {{item}}",
        "(i'd like|i would like|i want|i need) to (reorder|restock) [my|the|our] {item}",
        "same {item} as (last time|before|usual)",
        "{item} again please",
        f"[{ASK}] (reorder|restock) (something|an item)",
        "i (want|need) to reorder something",
        "(reorder|restock)",
        "[i want|get me|order|i'd like] (the|my|our) {item} (i|we) always (get|buy|order)",
        "(i need|we need|i want|get me|order) (more of|some more of) (my|our|the) usual {item}",
        "(order|get|buy) the same {item} (as|like) (last time|before)",
        "[some] more {item} [please]",
        "{item} the usual [please]",
        "(let's get|get|grab|i'll take|i want) the usual {item}",
        "(order|get|buy|grab) {quantity} more {item}",
        "{quantity} more {item} [please]",
        "[get|order|buy|reorder] [me] the {item} (i|we) (bought|got|had|ordered) (last time|before"
        "|last week|previously) [again]",
        "(get|order|buy) [me] again [the] {item} [from (my|our) (last|previous) order]",
        "(get|order|buy|reorder) [the] {item} from (my|our) (last|previous) order [again]",
        slots=(_item(prompts.ASK_ITEM_TO_REORDER), QUANTITY),
    ),
    _intent(
        "ReorderLastOrderIntent",
        "[please] (reorder|repeat|redo|re order) (my|the|our) (last|previous|most recent)"
        " (order|shop|delivery|groceries) [again|please]",
        "[please] (order|get|buy) (the same|the same things|the same stuff|everything)"
        " (as|from) (last time|my last order|last week|before)",
        "(same|the same) as (last time|last week|my last order|before) [please]",
        "[please] (place|buy|order|get) (my|the|our) (last|previous) order again",
        f"{ASK} (repeat|reorder) (my|the|our) (last|previous) order",
        "(order|get) (the usual|my usual order|our usual order)",
        "(order|get|buy) [me] (what|everything) (i|we) (got|ordered|bought|had) last time",
        "(duplicate|repeat|redo|copy) (last week's|last time's|my last|the last) order",
        "[just] [send me|get me|order|buy|reorder] (whatever|everything|all) (i|we) (got|bought"
        "|ordered|had) last (time|week) [again]",
        "(i'd like|i want|i would like) to (repeat|reorder) my (last|previous) order",
        "(give me|get me|i want|i'd like) the same order (as|like) (last time|the last one|before)",
        "(reorder|get|order|buy) everything from (last time|last week|my last order|the last order"
        "|my last delivery) [again]",
        "(reorder|order|get|buy) everything (i|we) (got|ordered|bought) last (time|week)",
        "(do|redo|repeat) my last order again",
        "(i want|give me|get me|send me) (exactly|just) what i (ordered|got|bought) (before|last"
        " time)",
        f"[{ASK}] (order|get) (the same thing|the same things|the same stuff) (as|from)"
        " (last time|last week|my last order)",
    ),
    _intent(
        "CheckoutIntent",
        "[let's|i want to|i'd like to|i'm ready to|i am ready to|ready to|time to] "
        "(check out|checkout) [now|please]",
        "[please] (place|submit|complete|finish|confirm|send|finalize) (my|the|this|our)"
        " order [now|please]",
        "(buy|order|purchase) (what's|everything|all that's|what is|all the stuff) in"
        " (my|the) (cart|basket)",
        "(order|buy|purchase) my (cart|basket)",
        "(that's|that is) (everything|it|all) (place|submit|send) (the|my) order",
        "i'm (done|finished) shopping",
        "i'm done",
        "(let's|i want to|i'm ready to) (pay|pay now|pay for it)",
        "(proceed|go) to checkout",
        "ring (me|it|us) up [please]",
        "send (my|the) order (through|in|off)",
        "(go ahead and|please) (place|submit) (the|my) order",
        "(process|finalize|complete) my (order|purchase)",
        "(make|send) the payment [now]",
        "[yeah|yes|okay] go ahead and (order|buy|get) (it all|everything|all of it|the lot)",
        "(that's everything|that's it|that's all) go ahead and (order|place|buy) (it|them|that)",
        "(that's everything|that's it|that's all) (buy|order) (it|it all|them)",
        "[just] (put|send) (the|my) order (in|through)",
        "just (order|buy) (it|it all|everything)",
        "place the order for (delivery|tomorrow|delivery tomorrow|today)",
        "(okay|ok|alright) (order|buy|place) (it|it all|everything|the order) now",
        f"{ASK} (check me out|place my order|place the order)",
    ),
    _intent(
        "CancelOrderIntent",
        "[please] cancel (my|the|that|this|our|an) [last|latest|recent|most recent] "
        "(order|delivery|purchase) [please]",
        "(cancel|kill|scrap) (the|that|my|an) order (i|i've|we|we've) [just|already] placed",
        "(i want|i'd like|i need|we need) to cancel (my|the|our) [last] order",
        "(scrap|scratch|kill|call off|undo|drop) (my|the|that|our) [last] order",
        f"{ASK} cancel (my|the|that|our) [last] order",
        "(don't|do not) (send|deliver|ship) (my|the|that) order",
        "cancel order",
        "i (changed my mind about|don't want) (my|the|that) order",
        "stop (my|the|that) order",
        "stop (my|the|that) order from (going out|shipping|being delivered|coming)",
        "cancel (today's|tomorrow's|my|the|that) delivery",
        "cancel the delivery (that's coming|for) (today|tomorrow|friday|this week|monday)",
        "(void|nix|call off) (my|the|that) [last] order",
        "i ordered (it|that|them) by mistake [please cancel it]",
        "i ordered by mistake [please cancel it]",
        "(my|the) (last|latest) order (needs|has) to be (cancelled|canceled)",
    ),
    _intent(
        "OrderStatusIntent",
        "(where's|where is) (my|the|our) (order|delivery|groceries|package|stuff)",
        "(what's|what is) the status of (my|the|our) (order|delivery)",
        "(order|delivery) status",
        f"[{ASK}] (track|check on|check) (my|the|our) (order|delivery|package)",
        "when (will|does) (my|the|our) (order|delivery|groceries) (arrive|come|get here)",
        "(when is|when's) (my|the|our) (order|delivery|groceries|stuff) (coming|arriving|due"
        "|getting here|going to get here|gonna get here)",
        "(has|did) (my|the|our) order (ship|shipped|arrive|arrived|go out|gone out)",
        "is my order (on its way|coming|here yet|late|out for delivery)",
        "(how's|how is) my order (doing|coming along)",
        "(has it|did it) (shipped|ship|arrive|arrived) yet",
        "(has|have) (my|the|our) [last] (order|delivery|groceries) (been delivered|arrived"
        "|shipped|come)",
        "how long until (my|the|our) (order|delivery|groceries) (gets here|arrives|comes)",
        "what time (is|will) (my|the|our) (order|delivery|groceries) (coming|arriving|come|arrive)"
        " [today]",
        "(any|an|is there an|is there any) update on (my|the|our) (order|delivery)",
        "(eta|e t a|what's the eta) (on|for) (my|the|our) (order|delivery|groceries)",
        "when (can|should|might) (i|we) expect (my|the|our) (order|delivery|groceries)",
    ),
    _intent(
        "EmptyCartIntent",
        f"[please] (empty|clear|clear out|wipe|reset|dump|empty out) {ONLY_CART} [please]",
        f"{ASK} (empty|clear|clear out|wipe) {ONLY_CART}",
        f"(remove|delete|take out|get rid of|throw out|clear) (everything|all the items|all the"
        f" stuff|all items|it all|all of it) [{FROM_CART}|in {ONLY_CART}] [please]",
        f"[please] (take|throw|get) everything out of {ONLY_CART}",
        "(start|start over|start again) (with|from) an empty (cart|basket)",
        "(i want|i'd like|i need) to (empty|clear|clear out|start over with) (my|the)"
        " (cart|basket)",
        "(i want|i'd like) (a|an) (empty|clean|fresh) (cart|basket)",
        f"(scrap|ditch|cancel|forget|trash) (everything|it all) in {ONLY_CART}",
        f"(scrap|ditch|trash) {ONLY_CART}",
        "(start|let's start) (over|fresh) with (my|the) (cart|basket)",
        "(empty|clear) it all out",
        f"(erase|purge|nuke|wipe out|zero out|flush) {ONLY_CART}",
        f"(remove|delete|take out) every (item|thing|product) (in|from|out of) {ONLY_CART}",
        "(i'd like|i want|i would like) (my|the) (cart|basket) (emptied|cleared|cleaned out)",
    ),
    _intent(
        "ChangeQuantityIntent",
        "[please] (set|change|update|make) [the|my] {item} (to|at) {quantity} [please|instead]",
        "(change|update|set) the (quantity|number|amount|count) (of|for) [the|my] {item} to"
        " {quantity} [please]",
        "(change|update|set) (the|my) {item} (quantity|amount|count) to {quantity} [please]",
        "[actually|nah|no|oh] (make|change) (it|that|them|those) [just|only] {quantity}"
        " [please|instead]",
        "[actually] (better|let's|just) (do|make it|go with|get) {quantity} of (those|them|these)",
        "(put|bring|turn|cut|drop|take) [the|my] {item} down to {quantity}",
        "[the|my] {item} should be {quantity} [instead|not more]",
        "(cut|bring|drop|reduce|take) [the|my] {item} down by {fewer}",
        "(subtract|lose|drop|knock off|take off|take away|remove|delete|take out|minus) {fewer}"
        f" [of the|of my|of those|of these] {{item}} [{FROM_CART}|off|out|away|please]",
        "(take|remove|take away) {fewer} (loaf|bag|box|pack|bottle|can|jar|carton) of the {item}"
        " (off|out|away)",
        f"(take|get) {{fewer}} {{item}} (off|out) [of {CART}|please]",
        "(i need|we need|i want) {fewer} (bag|box|pack|bottle|can|jar|carton|loaf) less of"
        " [the] {item}",
        "[actually] (make it|make that|change it to|change that to) {quantity} {item} [instead]",
        "[actually] (change|switch) (it|that|them) to {quantity} [please|instead]",
        "[can you] (make|change) (it|that|them) {quantity} instead",
        "(lower|reduce|drop|bring down|cut) [the|my] {item} to {quantity}",
        "(raise|increase|bump up|up|bring up) [the|my] {item} to {quantity}",
        "{fewer} (less|fewer) {item} [please]",
        "(take|take away|remove|take off|put back) {fewer} (of the|of my) {item} [off|out|away]",
        "(take|take away|remove|take off|put back) {fewer} of (them|those|these)"
        " [off|out|away|please]",
        "(i need|we need|i want) {fewer} (less|fewer) {item}",
        "(make it|make that) {fewer} (less|fewer) [{item}]",
        slots=(
            _item(prompts.ASK_ITEM_TO_CHANGE),
            SlotDef(
                "quantity",
                "AMAZON.NUMBER",
                elicitation_prompt=prompts.ASK_HOW_MANY,
                elicitation_samples=("{quantity}", "{quantity} please", "make it {quantity}"),
            ),
            SlotDef("fewer", "AMAZON.NUMBER"),
        ),
    ),
    _intent(
        "PriceIntent",
        "(what does|what do|how much does|how much do) [the|a|an] {item} cost [these days"
        "|now|today]",
        "how much (is|are) [the|a|an|one] {item} [these days|now|today|going for|right now]",
        "(what's|what is|tell me) the price (of|for|on) [the|a|an] {item}",
        "(what's|what is) [the|a] {item} (cost|price|going for)",
        "(price|cost) (of|for|on) [the|a|an] {item}",
        "how much (for|would) [the|a|an|one] {item} [cost|be|run me]",
        "(what are|what's|what is) [the] {item} (going for|selling for|priced at)",
        "(do you know|can you tell me|could you tell me) (what|how much) [the|a|an] {item} (costs"
        "|cost|is|are)",
        "(check|look up|find) the price (of|for|on) [the|a|an] {item}",
        "(is|are) [the|a] {item} (expensive|cheap|on sale)",
        "(what's|what is) the damage (on|for) [the|a] {item}",
        slots=(_item(prompts.ASK_ITEM_TO_PRICE),),
    ),
    _intent(
        "LastOrderIntent",
        "what did (i|we) (order|buy|get|have delivered) (last time|last week|before|most recently"
        "|the last time)",
        "(what's|what is|what was) (in|on) (my|our|the) (last|previous|latest|most recent)"
        " (order|delivery|shop)",
        "(read|tell me|list|go over|remind me of) (my|our|the) (last|previous) order",
        "what (were|was) (the items|the things|everything) (in|on|from) (my|our|the) (last"
        "|previous) order",
        "remind me what (i|we) (ordered|bought|got) (last time|last week|before)",
        "what (did|was) (my|our) last order (have|contain|include|consist of|in it)",
        "(what did|what was it) (i|we) (usually|last) (order|get|buy)",
        "(what'd|what did) (i|we) (buy|order|get) last [time]",
        "(list|tell me|read me|say) what (i|we) (bought|ordered|got) (last time|before|previously)",
        "i (need|want) to know what (i|we) (ordered|bought) (previously|last time|before)",
        "(lemme|let me) hear (my|our|the) (previous|last) order",
        "(review|go through|go over) (my|our) (last|previous) order",
    ),
    _intent(
        "ReturnItemIntent",
        "(i want|i'd like|i need|i would like) to (return|send back|give back) [the|my|those|these]"
        " [{quantity}] {item} [from my (last|latest|previous) (order|delivery)|please]",
        "[please] (return|send back|refund) [the|my|those|these] [{quantity}] {item} [from my"
        " (last|latest|previous) (order|delivery)|please|for me]",
        f"{ASK} (return|refund|take back) [the|my] [{{quantity}}] {{item}} [from my (last|latest)"
        " (order|delivery)]",
        "(can|could|may) i (return|send back|get a refund for|get my money back for) [the|my]"
        " [{quantity}] {item}",
        "(i want|i'd like|i need|give me) (a refund|my money back) (for|on) [the|my] [{quantity}]"
        " {item}",
        "(start|make|open) a return (for|on) [the|my] [{quantity}] {item}",
        "[the] {item} (was|were|is|are|came|arrived) (bad|spoiled|off|broken|damaged|stale|moldy"
        "|mouldy|crushed|expired|leaking|wrong|slimy|rotten|squashed|melted|opened) [when (it|they)"
        " (arrived|came|turned up)] [i want to return (it|them)|can i return (it|them)"
        "|please refund (it|them)|i'd like (it|that|them) refunded|i want (a refund|my money"
        " back)]",
        "(i|we) (received|got) (a|an|some) (damaged|broken|crushed|bad|spoiled|moldy|leaking|stale"
        "|opened|squashed) {item} [and] (i would like|i'd like|i want|we want) (to return (it|them)"
        "|a refund [for (it|them)])",
        "(my|the|our) (order|delivery) came with (a|an|some) (damaged|broken|crushed|bad|spoiled"
        "|moldy|leaking|stale|opened|squashed) {item} [and] (i'd like|i want|i would like)"
        " (a refund [for (it|them)]|to return (it|them))",
        "(return|send back|refund) {quantity} of (the|my) {item}",
        "(take|send) [the] {item} back [please|for a refund]",
        "i (don't|do not) want the {item} (i|we) (got|received|were sent) [return (it|them)]",
        slots=(_item(prompts.ASK_ITEM_TO_RETURN), QUANTITY),
    ),
    _intent(
        "ChooseProductIntent",
        "i (meant|mean) [the] {item} [one] [please]",
        "(give me|i'll take|let's go with|go with|i'll go with|i choose|pick|i pick) "
        "the {item} one",
        "[i want] the {item} one please",
        "(the|that) {ordinal} (one|option|choice|product)",
        "(i'll take|give me|i want|i meant|go with|let's go with|pick|i'll have) the "
        "{ordinal} [one|option]",
        "{ordinal} one [please]",
        "[i'll take|give me|go with|let's go with|pick|i'll go with] (number|option|choice)"
        " {position} [please]",
        "the {item} ones [please]",
        "(neither|none) [of them|of those|of these|one|please]",
        "(not those|something else|none of the above)",
        slots=(
            SlotDef(
                "item",
                PRODUCT_TYPE,
                elicitation_prompt=prompts.ASK_ITEM_TO_CHOOSE,
                elicitation_samples=(
                    *_ITEM_ANSWERS,
                    "the {item} one",
                    "{ordinal}",
                    "the {ordinal}",
                    "the {ordinal} one",
                    "number {position}",
                    "option {position}",
                ),
            ),
            SlotDef("ordinal", "AMAZON.Ordinal"),
            SlotDef("position", "AMAZON.NUMBER"),
        ),
    ),
    _intent(
        "VoiceCodeIntent",
        "(my|the) [voice] (code|pin|passcode|pin number) is {code}",
        "(my|the) (code|pin) (would be|should be) {code}",
        "(code|pin|voice code|passcode) {code}",
        "(it's|it is|that's|that would be) {code}",
        "(sure|okay|yes|yeah) (it's|my code is|the code is) {code}",
        "{code} is my (code|pin|voice code)",
        "i think (it's|my code is) {code}",
        slots=(
            SlotDef(
                "code",
                "AMAZON.FOUR_DIGIT_NUMBER",
                elicitation_prompt=prompts.ASK_VOICE_CODE,
                elicitation_samples=("{code}", "it's {code}", "my code is {code}"),
            ),
        ),
    ),
)
BUILTIN_INTENTS: tuple[IntentDef, ...] = tuple(
    IntentDef(name)
    for name in (
        "AMAZON.YesIntent",
        "AMAZON.NoIntent",
        "AMAZON.HelpIntent",
        "AMAZON.StopIntent",
        "AMAZON.CancelIntent",
        "AMAZON.FallbackIntent",
        "AMAZON.NavigateHomeIntent",
    )
)


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """What the model needs to know of a product: its id and the ways to say it."""

    sku: str
    name: str
    brand: str
    synonyms: tuple[str, ...]
    popularity: int = 0


_UNSPEAKABLE = re.compile(r"[^A-Za-z0-9' .]+")


def spoken_form(text: str) -> str:
    """Make a phrase valid as an Alexa slot value: words, digits, apostrophes, periods."""
    text = text.replace("&", " and ").replace("%", " percent ").replace("+", " plus ")
    return " ".join(_UNSPEAKABLE.sub(" ", text).split())[:MAX_SLOT_VALUE_CHARS]


def product_slot_type(entries: Iterable[CatalogEntry]) -> SlotTypeDef:
    """``PRODUCT`` values: one per SKU, brand+name as value, name and synonyms as synonyms.

    When the catalogue exceeds Alexa's limit the most popular products are kept;
    matching stays server-side on the raw spoken words, so nothing becomes unorderable.
    """
    ranked = sorted(entries, key=lambda e: (-e.popularity, e.sku))
    values: list[SlotValue] = []
    budget = MAX_PRODUCT_SLOT_VALUES
    for entry in ranked:
        value = spoken_form(f"{entry.brand} {entry.name}")
        synonyms: list[str] = []
        for phrase in (entry.name, *entry.synonyms):
            spoken = spoken_form(phrase)
            if (
                spoken
                and spoken.lower() != value.lower()
                and spoken.lower() not in {s.lower() for s in synonyms}
            ):
                synonyms.append(spoken)
        cost = 1 + len(synonyms)
        if not value or cost > budget:
            continue
        budget -= cost
        values.append(SlotValue(entry.sku, value, tuple(synonyms)))
    values.sort(key=lambda v: v.id)
    return SlotTypeDef(PRODUCT_TYPE, tuple(values))


def build_model(entries: Iterable[CatalogEntry]) -> InteractionModel:
    model = InteractionModel(
        invocation_name=INVOCATION_NAME,
        intents=CUSTOM_INTENTS + BUILTIN_INTENTS,
        types=(product_slot_type(entries),),
        answer_intents=ANSWER_INTENTS,
        bare_answer_intent="AddToCartIntent",
    )
    model.validate()
    return model
