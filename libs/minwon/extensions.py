"""The extension rule (연장), applied where an extension is requested (intake, before the citizen is
told anything) and where it moves the clock (deadline): once, by up to the original period; again
only with the citizen's consent. Only extensions that were granted count."""

from __future__ import annotations

import re

from minwon.errors import Conflict, Invalid

# working hours per unit: 1 day = 8 working hours, a week 5 days, a month about 22 working days
_HOURS = {"h": 1.0, "d": 8.0, "w": 40.0, "m": 176.0, "y": 2000.0}
_PATTERN = re.compile(r"(\d{1,5})([hdwmy])")
IMMEDIATE_WORDS = frozenset({"immediate", "즉시"})


def working_hours(period: str, *, field: str = "period") -> float:
    """The length of a period (``14d``, ``40h``, ``2w``, ``1m``, ``immediate``) in working hours, to
    compare two periods; refused naming ``field`` when it is not a period."""
    text = period.strip().lower()
    if text in IMMEDIATE_WORDS:
        return 3.0
    match = _PATTERN.fullmatch(text)
    if match is None or int(match[1]) < 1:
        raise Invalid(field, f"{period!r} is not a period: use 3h, 14d, 2w, 1m or 1y")
    return int(match[1]) * _HOURS[match[2]]


def check_extension(*, original: str, requested: str | None, granted: int, citizen_consent: bool) -> None:
    """Refuse an extension the rule does not allow: a second one without the citizen's consent
    (409), a first one longer than the original period (422 naming ``period``)."""
    if granted >= 1 and not citizen_consent:
        raise Conflict("a second extension needs the citizen's consent (citizen_consent: true)", extensions=granted)
    if requested is None:
        return
    asked = working_hours(requested)
    if granted == 0 and asked > working_hours(original, field="original_period"):
        raise Invalid(
            "period", f"the first extension is at most the original period ({original}); {requested} is longer"
        )
