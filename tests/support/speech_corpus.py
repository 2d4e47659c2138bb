"""Spoken shopping requests for the English end-to-end test and bench/bench_asr.py.

Each case says what a shopper asks and what voicecart must make of it: the intent, the
quantity, and words the matched product's name must contain (the product family; where
the catalogue has several, the shopper would then be asked which). The audio is made
with Debian's espeak-ng in several voices, speeds and sample rates.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from devtools.dialogs import speak_wav
from nlu.audio import write_wav


@dataclass(frozen=True, slots=True)
class Case:
    text: str
    intent: str
    quantity: str | None = None
    product: str | None = None
    """Words the matched product's name must contain; ``None``: no product expected."""


@dataclass(frozen=True, slots=True)
class Voice:
    voice: str
    speed: int
    rate: int

    def __str__(self) -> str:
        return f"{self.voice} {self.speed}wpm {self.rate / 1000:g}kHz"


A, R, X = "AddToCartIntent", "ReorderIntent", "RemoveFromCartIntent"
CASES: tuple[Case, ...] = (
    Case("add two bananas to my cart", A, "2", "Sunny Acres Bananas"),
    Case("add three eggs", A, "3", "Eggs"),
    Case("add dish soap to my cart", A, None, "Dish Soap"),
    Case("i need paper towels", A, None, "Paper Towels"),
    Case("reorder paper towels", R, None, "Paper Towels"),
    Case("reorder coffee", R, None, "Coffee"),
    Case("buy toilet paper again", R, None, "Toilet Paper"),
    Case("remove the bananas", X, None, "Sunny Acres Bananas"),
    Case("what's in my cart", "ReadCartIntent"),
    Case("check out", "CheckoutIntent"),
    Case("where is my order", "OrderStatusIntent"),
    Case("repeat my last order", "ReorderLastOrderIntent"),
    Case("add four gala apples", A, "4", "Gala Apples"),
    Case("put strawberries in my cart", A, None, "Strawberries"),
    Case("i need two cartons of eggs", A, "2", "Eggs"),
    Case("add greek yogurt to my cart", A, None, "Greek Yogurt"),
    Case("reorder my usual coffee", R, None, "Coffee"),
    Case("we're out of peanut butter", A, None, "Peanut Butter"),
    Case("order more toilet paper", R, None, "Toilet Paper"),
    Case("remove the bread from my cart", X, None, "Bread"),
    Case("take the lemons out of my cart", X, None, "Lemons"),
    Case("add five limes", A, "5", "Limes"),
    Case("add sourdough bread", A, None, "Sourdough"),
    Case("get me two avocados", A, "2", "Avocados"),
    Case("add baby spinach to my cart", A, None, "Baby Spinach"),
    Case("i need shredded mozzarella", A, None, "Shredded Mozzarella"),
    Case("add cheddar cheese", A, None, "Cheddar Cheese"),
    Case("reorder almond milk", R, None, "Almond Milk"),
    Case("order oat milk again", R, None, "Oat Milk"),
    Case("add ground coffee", A, None, "Ground Coffee"),
    Case("add orange juice to my cart", A, None, "Orange Juice"),
    Case("put three cucumbers in my cart", A, "3", "Cucumbers"),
    Case("add chicken breasts", A, None, "Chicken Breast"),
    Case("reorder laundry detergent", R, None, "Laundry Detergent"),
    Case("add cherry tomatoes", A, None, "Cherry Tomatoes"),
    Case("remove the carrots", X, None, "Carrots"),
    Case("what do i have in my cart", "ReadCartIntent"),
    Case("place my order", "CheckoutIntent"),
    Case("reorder my last order", "ReorderLastOrderIntent"),
    Case("add blueberries", A, None, "Blueberries"),
    Case("add butter to my cart", A, None, "Butter"),
    Case("add six yogurt cups", A, "6", "Yogurt Cups"),
    Case("i need sweet potatoes", A, None, "Sweet Potatoes"),
    Case("restock dish soap", R, None, "Dish Soap"),
    Case("add ten bananas", A, "10", "Sunny Acres Bananas"),
    Case("add two loaves of whole wheat bread", A, "2", "Whole Wheat Bread"),
    Case("read my cart", "ReadCartIntent"),
    Case("add cream cheese", A, None, "Cream Cheese"),
    Case("i need hamburger buns", A, None, "Hamburger Buns"),
    Case("add english muffins to my cart", A, None, "English Muffins"),
    Case("add two red onions", A, "2", "Red Onions"),
    Case("add honeycrisp apples", A, None, "Honeycrisp Apples"),
    Case("remove the raspberries", X, None, "Raspberries"),
    Case("add sour cream", A, None, "Sour Cream"),
    Case("reorder celery", R, None, "Celery"),
    Case("yes", "AMAZON.YesIntent"),
    Case("no thanks", "AMAZON.NoIntent"),
    Case("help", "AMAZON.HelpIntent"),
    Case("stop", "AMAZON.StopIntent"),
    Case("cancel", "AMAZON.CancelIntent"),
)

VOICES: tuple[Voice, ...] = (
    Voice("en-us+f5", 150, 16000),
    Voice("en-us+f2", 140, 22050),
    Voice("en-us+f5", 125, 44100),
    Voice("en-us+f2", 165, 16000),
    Voice("en-us+f5", 150, 48000),
    Voice("en-us+f2", 140, 8000),
)
"""Two voices, four speeds, five sample rates; every case is said in one of them."""


def spoken_cases() -> list[tuple[Case, Voice]]:
    """Every case with the voice it is said in (round robin, so each voice says ten)."""
    return [(case, VOICES[i % len(VOICES)]) for i, case in enumerate(CASES)]


def synthesise(text: str, voice: Voice, folder: Path) -> bytes:
    """A WAV of ``text`` at ``voice.rate`` (espeak-ng speaks at 22.05 kHz; resampled)."""
    spoken_wav = speak_wav(text, folder, voice=voice.voice, speed=voice.speed)
    with wave.open(io.BytesIO(spoken_wav), "rb") as wav:
        rate, frames = wav.getframerate(), wav.readframes(wav.getnframes())
    if rate == voice.rate:
        return spoken_wav
    spoken = np.frombuffer(frames, dtype="<i2").astype(np.float32)
    samples = soxr.resample(spoken, rate, voice.rate)
    return write_wav(np.clip(samples, -32768, 32767).astype(np.int16), voice.rate)
