"""Schema of the knowledge base.

The models are strict (unknown fields and type coercion are refused) because the YAML is
edited by admissions staff: a typo must stop the action server, not silently drop a fact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field, StrictInt, StrictStr, constr, validator

if TYPE_CHECKING:  # to a type checker they are plain strings; pydantic gets the constraints
    Identifier = str
    Text = str
else:
    Identifier = constr(strict=True, regex=r"^[a-z][a-z0-9_]*$")
    Text = constr(strict=True, strip_whitespace=True, min_length=1)


class _Strict(BaseModel):
    class Config:
        extra = "forbid"
        allow_mutation = False


class Delivery(_Strict):
    """Where a program is taught in person, and in which modes (keys of delivery_modes)."""

    campus: Identifier
    modes: list[Identifier] = Field(..., min_items=1)


class Program(_Strict):
    id: Identifier
    name: Text
    aliases: list[Text] = []
    duration_months: StrictInt
    typical_credential: Text
    delivery: list[Delivery] = []
    online_campus: Identifier | None = None
    scope: Text
    topics_covered: list[Text] = Field(..., min_items=1)
    careers: list[Text] = Field(..., min_items=1)
    career_summary: Text
    suits: Text

    @validator("duration_months")
    def _positive(cls, value: int) -> int:
        if not 0 < value < 120:
            raise ValueError("must be a whole number of months between 1 and 119")
        return value


class Campus(_Strict):
    id: Identifier
    city: Text
    state: Text
    aliases: list[Text] = []

    @property
    def label(self) -> str:
        return f"{self.city}, {self.state}"


class Term(_Strict):
    id: Identifier
    name: Text
    aliases: list[Text] = []
    text: Text


class UnknownTopic(_Strict):
    id: Identifier
    name: Text
    aliases: list[Text] = Field(..., min_items=1)


class Admissions(_Strict):
    phone: Text
    inquiry: Text

    @validator("phone")
    def _dialable(cls, value: str) -> str:
        import phonenumbers

        try:
            parsed = phonenumbers.parse(value, "US")
        except phonenumbers.NumberParseException as error:
            raise ValueError(f"not a phone number ({error})") from None
        if not phonenumbers.is_valid_number(parsed):
            raise ValueError("not a valid phone number")
        return value


# One model per file: the loader validates each file against its own schema.
class ProgramsFile(_Strict):
    programs: list[Program] = Field(..., min_items=1)
    delivery_modes: dict[StrictStr, Text]


class CampusesFile(_Strict):
    campuses: list[Campus] = Field(..., min_items=1)


class Relationship(_Strict):
    coding_in_health_it: Text
    same_or_different: Text


class DefinitionsFile(_Strict):
    terms: list[Term]
    relationship: Relationship
    choosing: Text


class ContactFile(_Strict):
    admissions: Admissions


class UnknownTopicsFile(_Strict):
    topics: list[UnknownTopic]
