"""Write actions/language/us_cities.txt: the larger US cities, from libphonenumber's geocoding data.

The assistant must recognise a city the college has no campus in ("Atlanta", "Dallas") so it
never answers yes for it. libphonenumber (the `phonenumbers` package, already a dependency)
names the place of every North American exchange; a city with many exchanges is a large
one. Loading that data costs about 120 MB, so it is read here, once, not by the action
server. Run again after upgrading phonenumbers: `.venv/bin/python scripts/us_places.py`.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from phonenumbers.geodata import GEOCODE_DATA

from actions.language.places import STATES

TARGET = Path(__file__).resolve().parents[1] / "actions" / "language" / "us_cities.txt"
# Exchanges a city needs to be listed: 10 keeps about 400 US cities (Atlanta has hundreds).
MIN_EXCHANGES = 10
CITY = re.compile(r"(?P<city>[^,]+), (?P<state>[A-Z]{2})")


def us_cities(min_exchanges: int = MIN_EXCHANGES) -> list[str]:
    counts: Counter[str] = Counter()
    for prefix, names in GEOCODE_DATA.items():
        found = CITY.fullmatch(names.get("en", "")) if prefix.startswith("1") else None
        if found and found["state"] in STATES:
            counts[found["city"]] += 1
    return sorted(city for city, count in counts.items() if count >= min_exchanges)


def main() -> None:
    header = f"# US cities with at least {MIN_EXCHANGES} telephone exchanges (libphonenumber); scripts/us_places.py\n"
    TARGET.write_text(header + "\n".join(us_cities()) + "\n", encoding="utf-8")
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
