"""Query parameters the API takes, parsed once, with 400s that say what to send."""

from __future__ import annotations

from datetime import date

from fastapi import HTTPException, status

FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def bad_request(message: str) -> HTTPException:
    return HTTPException(status.HTTP_400_BAD_REQUEST, detail=message)


def parse_day(text: str, name: str, *, month: bool = False) -> date:
    """YYYY-MM-DD (or, where ``month``, YYYY-MM: its first day), 2000 to 2099."""
    try:
        day = date.fromisoformat(f"{text}-01" if month and len(text) == 7 else text)
    except ValueError:
        day = None
    if day is None or not FIRST_DAY <= day <= LAST_DAY:
        example = "2026-03-10" + (" (or 2026-03 for a month)" if month else "")
        raise bad_request(
            f"{name}={text!r} is not a day between 2000 and 2099: use YYYY-MM-DD, e.g. {example}"
        )
    return day
