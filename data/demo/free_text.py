"""Contact details in the demo's free text, and the stored redacted twins of all of it.

Real homeowners type their phone number, email address and name into reviews and call notes in
every spelling; the demo does too, so the redaction (``data.redaction``) is exercised on every
fresh ``make run`` and in the browser journeys. :func:`plant_contacts` adds such a sentence to a
few percent of review comments and interaction notes (lead descriptions already carry some,
``data.demo.activity``); :func:`add_twins` fills the ``*_redacted`` columns the ORM fills on
every other write (``data.free_text``), since bulk loads bypass the ORM.

Most texts come from a small vocabulary, so the redaction of each distinct text is computed once
and the person's name and street are only looked for where they can occur.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from data.demo.bulk import TableData
from data.demo.people import Homeowners
from data.free_text import Person, redacted_for
from data.redaction import redact

PLANT_SHARE = 0.04


def _spellings(phone: str | None, email: str | None, first: str, last: str) -> list[str]:
    """Ways a homeowner writes their own details (phone as stored: ``+27XXXXXXXXX``)."""
    out = [f"Regards, {first}.", f"Ask for {first} {last}."]
    if phone:
        national = "0" + phone[3:]
        out += [
            f"Reach me on cell{national}.",
            f"Call {national[:3]}.{national[3:6]}.{national[6:]} after five.",
            f"WhatsApp {national[:3]}\u2013{national[3:6]}\u2013{national[6:]} please.",
            f"My number is +27 ({national[1:3]}) {national[3:6]} {national[6:]}.",
        ]
    if email and "@" in email:
        box, domain = email.split("@", 1)
        out += [
            f"Email {box} @ {domain}.",
            f"Mail me: {box} (at) {domain.replace('.', ' [dot] ')}",
        ]
    return out


def plant_contacts(
    rng: np.random.Generator,
    homeowners: Homeowners,
    review_comments: list[str | None],
    review_homeowner: np.ndarray,
    interactions: TableData,
) -> None:
    """Append a homeowner's own details to a few percent of comments and notes (in place)."""
    notes = interactions.columns["notes"]
    owner_ids = np.ma.filled(interactions.columns["homeowner_id"], 0)
    targets: list[tuple[list, int, int]] = [
        (review_comments, i, int(review_homeowner[i])) for i in range(len(review_comments))
    ]
    targets += [(notes, i, int(owner_ids[i]) - 1) for i in range(len(notes)) if owner_ids[i] > 0]
    pick = rng.random(len(targets))
    style = rng.integers(0, 1 << 30, len(targets))
    for (column, i, h), p, s in zip(targets, pick.tolist(), style.tolist(), strict=True):
        if p >= PLANT_SHARE or column[i] is None:
            continue
        options = _spellings(
            homeowners.phone[h],
            homeowners.email[h],
            homeowners.first_name(h),
            homeowners.last_name(h),
        )
        column[i] = f"{column[i]} {options[s % len(options)]}"


@lru_cache(maxsize=100_000)
def _base(text: str) -> str:
    return redact(text) or text


def twin(text: str | None, person: Person) -> str | None:
    """``redacted_for(text, person)``, computed once per distinct text where the person's own
    words cannot occur (the same result: those removals would change nothing)."""
    if text is None:
        return None
    base = _base(text)
    lowered = base.lower()
    if any(w.lower() in lowered for w in (*person.names, *person.streets) if w):
        return redacted_for(text, person)
    return base


def _person(homeowners: Homeowners, h: int) -> Person:
    street = homeowners.street[h]
    names = (homeowners.first_name(h), homeowners.last_name(h))
    return Person(names, (street,) if street else ())


def add_twins(
    table: TableData, source: str, target: str, homeowners: Homeowners, owner: np.ndarray
) -> None:
    """Fill ``table``'s ``target`` column from ``source``; ``owner[i]`` is row i's homeowner
    (0-based, negative when none)."""
    texts = table.columns[source]
    table.columns[target] = [
        twin(t, _person(homeowners, int(h)) if h >= 0 else Person())
        for t, h in zip(texts, owner.tolist(), strict=True)
    ]
