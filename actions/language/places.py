"""Find places a visitor names that are not campuses: US states, larger US cities, "near me".

A question about a place the college has no campus in must never get a yes, so these places
are recognised without the NLU model's help (it learns only the places in its examples).
States are a fixed list; cities come from us_cities.txt, written by scripts/us_places.py
from libphonenumber's geocoding data. A city name counts only after a word such as "in",
"near" or "from", so "Mobile" or "Normal" in a sentence is not taken for a city.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

CITIES_FILE = Path(__file__).with_name("us_cities.txt")

STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
}  # fmt: skip

CODES = {name.lower(): code for code, name in STATES.items()}

# Words after which a city name is a place ("in Dallas", "near Dallas", "from Dallas").
PLACE_CUES = frozenset({"in", "near", "from", "around", "by", "at", "to", "of", "outside", "about", "live", "nearby"})
NEAR_ME = (
    "near me", "close to me", "closest to me", "nearest to me", "near where i live", "close to where i live",
    "near my house", "near my home", "in my area", "around me", "nearby me", "close by me",
)  # fmt: skip


@dataclass(frozen=True)
class Place:
    """A place named in the text: its name as we say it, and its tokens (start, end).

    `state` is the two-letter code when the place is a whole state (a campus may be in it).
    """

    name: str
    start: int
    end: int
    state: str | None = None


@dataclass(frozen=True)
class Places:
    named: tuple[Place, ...]
    near_me: bool


@cache
def cities() -> tuple[str, ...]:
    lines = CITIES_FILE.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


class PlaceFinder:
    def __init__(self, nlp: Language) -> None:
        self._nlp = nlp
        self._lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        self._lower.add("state", [nlp.make_doc(name) for name in STATES.values()])
        self._lower.add("city", [nlp.make_doc(name) for name in cities()])
        self._lower.add("near_me", [nlp.make_doc(phrase) for phrase in NEAR_ME])
        # Abbreviations only as written on envelopes: upper case, after "in" or a comma.
        self._upper = PhraseMatcher(nlp.vocab, attr="ORTH")
        self._upper.add("abbreviation", [nlp.make_doc(code) for code in STATES])

    def find(self, doc: Doc) -> Places:
        spans: list[Span] = []
        near_me = False
        for matcher in (self._lower, self._upper):
            for match_id, start, end in matcher(doc):
                kind = self._nlp.vocab.strings[match_id]
                before = doc[start - 1].lower_ if start else ""
                if kind == "near_me":
                    near_me = True
                elif kind == "state":
                    spans.append(Span(doc, start, end, label=CODES[doc[start:end].text.lower()]))
                elif kind == "city" and before in PLACE_CUES:
                    spans.append(Span(doc, start, end, label=""))
                elif kind == "abbreviation" and before in {"in", ","}:
                    spans.append(Span(doc, start, end, label=doc[start].text))
        return Places(_places(filter_spans(spans)), near_me)


def _places(spans: list[Span]) -> tuple[Place, ...]:
    """Spans as places, "Dallas, TX" as one place (a state right after a city is its state)."""
    places: list[Place] = []
    for span in sorted(spans, key=lambda s: s.start):
        last = places[-1] if places else None
        between = span.doc[last.end : span.start].text.strip() if last else None
        if last and span.label_ and last.state is None and not last.name.count(",") and between in ("", ","):
            places[-1] = Place(f"{last.name}, {span.label_}", last.start, span.end)
        elif span.label_:
            places.append(Place(STATES[span.label_], span.start, span.end, span.label_))
        else:
            places.append(Place(span.text.title(), span.start, span.end))
    return tuple(places)
