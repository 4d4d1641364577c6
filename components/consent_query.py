"""The consent page's filters in the URL: parse them (``components.url_state``), turn them into
:class:`data.consent.filters.ConsentFilters`, and write them back.

Keys: ``period`` (a preset, or ``custom`` with ``from``/``to``), ``subject`` (homeowner or
partner), ``purpose`` (a consent purpose), ``source`` (a homeowner source site). A bad value is
reported as one sentence and the defaults are used instead (the page still draws).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date

from components.url_state import (
    BadQuery,
    DateRange,
    parse_choice,
    parse_date_range,
    preset_range,
    to_search,
)
from data.consent.filters import ConsentFilters
from data.models import CONSENT_PURPOSES, SUBJECT_TYPES

DEFAULT_PERIOD = "365d"
KEYS = ("period", "from", "to", "subject", "purpose", "source")


@dataclass(frozen=True)
class ConsentQuery:
    period: DateRange
    subject: str | None = None
    purpose: str | None = None
    source: str | None = None

    def filters(self) -> ConsentFilters:
        return ConsentFilters(
            self.period.start, self.period.end, self.subject, self.purpose, self.source
        )

    def params(self) -> dict[str, str]:
        out = dict(self.period.as_params())
        for key, value in (("subject", self.subject), ("purpose", self.purpose),
                           ("source", self.source)):  # fmt: skip
            if value:
                out[key] = value
        return out

    def search(self) -> str:
        return to_search(self.params(), defaults={"period": DEFAULT_PERIOD})


def parse_query(
    params: Mapping[str, str], *, today: date, sites: Collection[str]
) -> tuple[ConsentQuery, str | None]:
    """The query the address asks for, or the default one and the problem found."""
    try:
        period = parse_date_range(params, today=today, default_preset=DEFAULT_PERIOD)
        subject = parse_choice(params, "subject", SUBJECT_TYPES, label="subject type")
        purpose = parse_choice(params, "purpose", CONSENT_PURPOSES, label="purpose")
        source = parse_choice(params, "source", sites, label="source site")
    except BadQuery as exc:
        return default_query(today), str(exc)
    return ConsentQuery(period, subject, purpose, source), None


def default_query(today: date) -> ConsentQuery:
    return ConsentQuery(preset_range(DEFAULT_PERIOD, today))


def search_from_controls(
    preset: object, start: object, end: object, subject: object, purpose: object, source: object
) -> str:
    """The address for the controls' values (validated again when the page renders it)."""
    params: dict[str, object] = {}
    if preset == "custom" or preset is None:
        params.update({"period": "custom", "from": start or "", "to": end or ""})
    else:
        params["period"] = preset
    params.update({"subject": subject, "purpose": purpose, "source": source})
    clean = {k: str(v) for k, v in params.items() if isinstance(v, str) and v}
    return to_search(clean, defaults={"period": DEFAULT_PERIOD})
