"""The statutory-type catalogue (민원처리기준표): one vocabulary for every service.

Intake validates a filing's type against it and records the code, routing's rules may
name a type by its Korean name, and the deadline service takes the period from it. A type
is named by its code (``building_permit``), its Korean name (``건축허가``) or an alias;
spaces and letter case are ignored. The file is ``data/statutory_types.json`` unless a
deployment points elsewhere.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

CATALOGUE_PATH = Path(__file__).parent / "data" / "statutory_types.json"
FIELDS = ("code", "name_ko", "name_en", "period", "department_hint")


class CatalogueError(ValueError):
    """The catalogue file is malformed; ``field`` names where."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def fold(value: str) -> str:
    """A name as compared: no spaces, case folded."""
    return "".join(value.split()).casefold()


@dataclass(frozen=True)
class Entry:
    code: str
    name_ko: str
    name_en: str
    period: str
    department_hint: str
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the type answers to: code, Korean name, aliases."""
        return (self.code, self.name_ko, *self.aliases)


@dataclass(frozen=True)
class Catalogue:
    entries: tuple[Entry, ...]
    _by_name: dict[str, Entry] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for entry in self.entries:
            for name in entry.names:
                other = self._by_name.setdefault(fold(name), entry)
                if other is not entry:
                    raise CatalogueError("types", f"the name {name!r} is used by {other.code} and {entry.code}")

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def resolve(self, value: str | None) -> Entry | None:
        """The type ``value`` names (code, Korean name or alias), or None."""
        return self._by_name.get(fold(value)) if value and value.strip() else None

    def close_matches(self, value: str, n: int = 5) -> list[str]:
        """Up to ``n`` types whose names resemble ``value``, as ``"<Korean name> (<code>)"``."""
        wanted = fold(value)
        scored: dict[str, float] = {}
        for entry in self.entries:
            best = max(difflib.SequenceMatcher(None, wanted, fold(name)).ratio() for name in entry.names)
            if wanted and any(wanted in fold(name) or fold(name) in wanted for name in entry.names):
                best = max(best, 0.9)
            scored[f"{entry.name_ko} ({entry.code})"] = best
        return [name for name, score in sorted(scored.items(), key=lambda x: -x[1]) if score >= 0.4][:n]


def parse(data: Any) -> Catalogue:
    """The catalogue from parsed JSON ``{"types": [{code, name_ko, name_en, period, department_hint, aliases}]}``."""
    rows = data.get("types") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise CatalogueError("types", "expected an object with a list 'types'")
    entries: list[Entry] = []
    for i, row in enumerate(rows):
        where = f"types[{i}]"
        if not isinstance(row, dict):
            raise CatalogueError(where, "each type is an object")
        for key in FIELDS:
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise CatalogueError(f"{where}.{key}", f"{key} is a non-empty string")
        aliases = row.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
            raise CatalogueError(f"{where}.aliases", "aliases is a list of non-empty strings")
        if any(e.code == row["code"].strip() for e in entries):
            raise CatalogueError(f"{where}.code", f"duplicate code {row['code']!r}")
        code, name_ko, name_en, period, department_hint = (row[k].strip() for k in FIELDS)
        entries.append(Entry(code, name_ko, name_en, period, department_hint, tuple(a.strip() for a in aliases)))
    return Catalogue(tuple(entries))


def load(path: Path = CATALOGUE_PATH) -> Catalogue:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise CatalogueError("types", f"not JSON: {error}") from None
    return parse(data)


@lru_cache(maxsize=4)
def catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    """The catalogue at ``path``, read once per process."""
    return load(path)
