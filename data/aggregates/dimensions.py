"""The fixed generalisation hierarchies a de-identified table may be broken down by, and the
measures it may show.

Every dimension has a fixed list of values that does not depend on the data (docs/domain.md
§5.10): a breakdown whose categories came from the data would itself disclose that someone has
an unusual value. Values outside the list (a city typed by hand, say) fall into ``Other`` and a
missing value into ``Not stated``, both in SQL, so free text never leaves the database.

Province and city are the lead's (they survive erasure), age band, gender and property type the
homeowner's, trade, service type and channel the lead's, and the time dimensions the South
African month of the lead's creation. Partners are never a dimension.

The expressions are written against a :class:`Source` (which columns hold the lead's and the
homeowner's values): the tables read the precomputed ``aggregate_cell``
(:data:`data.aggregates.cells`, with copies of the homeowner's birth year, gender and property
type), and
:data:`LEAD_SOURCE` reads ``lead`` and ``homeowner`` themselves (the differentially private
mode, and the tests' oracle of the precomputed table).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import String, case, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement

from data.geography import CITIES, PROVINCE_NAMES, PROVINCE_REGION, REGIONS
from data.models import GENDERS, LEAD_CHANNELS, PROPERTY_TYPES, Homeowner, Lead
from data.sqlfuncs import month_start

TOTAL = "Total"
NOT_STATED = "Not stated"
OTHER = "Other"
MAX_DIMENSIONS = 3
#: Dimensions read from the homeowner row (the others are the lead's own columns).
HOMEOWNER_DIMENSIONS = frozenset({"age_band", "gender", "property_type"})
AGE_BANDS = ("<20", "20–29", "30–39", "40–49", "50–59", "60–69", "70+")


@dataclass(frozen=True)
class Period:
    """Whole South African months ``first``..``last`` (both the first day of their month)."""

    first: date
    last: date

    def months(self) -> list[str]:
        out, y, m = [], self.first.year, self.first.month
        while (y, m) <= (self.last.year, self.last.month):
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out

    def end(self) -> date:
        """The first day after the period."""
        y, m = self.last.year, self.last.month
        return date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)

    def label(self) -> str:
        return f"{self.first:%Y-%m} to {self.last:%Y-%m}"


@dataclass(frozen=True)
class Names:
    """Trade and service-type names by id (fixed vocabularies held in their own tables)."""

    trades: dict[int, str]
    service_types: dict[int, str]


@dataclass(frozen=True)
class Source:
    """Where a table's values come from: ``month`` is the South African month of the lead's
    creation as ``YYYY-MM`` text; the last three are the homeowner's."""

    province: ColumnElement[str]
    city: ColumnElement[str]
    trade_id: ColumnElement[int]
    service_type_id: ColumnElement[int]
    channel: ColumnElement[str]
    month: ColumnElement[str]
    birth_year: ColumnElement[int]
    gender: ColumnElement[str]
    property_type: ColumnElement[str]


LEAD_SOURCE = Source(
    province=Lead.province,
    city=Lead.city,
    trade_id=Lead.trade_id,
    service_type_id=Lead.service_type_id,
    channel=Lead.channel,
    month=func.substr(month_start(Lead.created_at), 1, 7),
    birth_year=Homeowner.birth_year,
    gender=Homeowner.gender,
    property_type=Homeowner.property_type,
)

Build = Callable[[Period, Names, Source], ColumnElement[str]]


@dataclass(frozen=True)
class Dimension:
    """One breakdown: its key (URL, CLI, CSV header), label, the group it excludes others of
    (province and region are two levels of one hierarchy, so are month, quarter and year),
    how its SQL expression is built and its fixed values."""

    key: str
    label: str
    group: str
    build: Build
    values: Callable[[Period, Names], tuple[str, ...]]

    def expression(
        self, period: Period, names: Names, source: Source = LEAD_SOURCE
    ) -> ColumnElement[str]:
        """The category of each row, in SQL, read from ``source``."""
        return self.build(period, names, source)


def _listed(
    column: ColumnElement, allowed: Sequence[str], other: str = OTHER
) -> ColumnElement[str]:
    """``column`` when it is one of ``allowed``, ``Not stated`` when missing, else ``other``."""
    return case(
        (column.is_(None), literal(NOT_STATED)),
        (column.in_(list(allowed)), column),
        else_=literal(other),
    )


def _by_id(column: ColumnElement, names: dict[int, str]) -> ColumnElement[str]:
    if not names:
        return literal(OTHER)
    return case(
        *((column == ident, literal(name)) for ident, name in sorted(names.items())),
        else_=literal(OTHER),
    )


def _age_band(period: Period, _names: Names, source: Source) -> ColumnElement[str]:
    """Age at the end of the period's last year, in ten-year bands top-coded at 70+."""
    age = literal(period.last.year) - source.birth_year
    return case(
        (source.birth_year.is_(None), literal(NOT_STATED)),
        (age < 20, literal(AGE_BANDS[0])),
        (age < 30, literal(AGE_BANDS[1])),
        (age < 40, literal(AGE_BANDS[2])),
        (age < 50, literal(AGE_BANDS[3])),
        (age < 60, literal(AGE_BANDS[4])),
        (age < 70, literal(AGE_BANDS[5])),
        else_=literal(AGE_BANDS[6]),
    )


def _month(_period: Period, _names: Names, source: Source) -> ColumnElement[str]:
    return source.month


def _quarter(_period: Period, _names: Names, source: Source) -> ColumnElement[str]:
    month = func.substr(source.month, 6, 2)
    quarter = case(
        (month.in_(["01", "02", "03"]), literal("Q1")),
        (month.in_(["04", "05", "06"]), literal("Q2")),
        (month.in_(["07", "08", "09"]), literal("Q3")),
        else_=literal("Q4"),
    )
    return cast(func.substr(source.month, 1, 4), String) + literal("-") + quarter


def _year(_period: Period, _names: Names, source: Source) -> ColumnElement[str]:
    return cast(func.substr(source.month, 1, 4), String)


def time_label(key: str, month: str) -> str:
    """The label a table gives month ``month`` (``YYYY-MM``) at time level ``key`` (month,
    quarter or year): what :func:`_quarter` and :func:`_year` compute in SQL."""
    if key == "quarter":
        return f"{month[:4]}-Q{(int(month[5:]) - 1) // 3 + 1}"
    if key == "year":
        return month[:4]
    return month


def _labels_in(key: str) -> Callable[[Period, Names], tuple[str, ...]]:
    """The labels of the time level ``key`` that the period's months fall in, in order."""
    return lambda p, _n: tuple(dict.fromkeys(time_label(key, m) for m in p.months()))


def _region(_period: Period, _names: Names, source: Source) -> ColumnElement[str]:
    whens = [
        (source.province.in_([p for p in PROVINCE_NAMES if PROVINCE_REGION[p] == r]), literal(r))
        for r in REGIONS
    ]
    return case(*whens, else_=literal(OTHER))


def _fixed(values: Sequence[str]) -> Callable[[Period, Names], tuple[str, ...]]:
    return lambda _p, _n: tuple(values)


CITY_NAMES: tuple[str, ...] = tuple(dict.fromkeys(c.name for c in CITIES))

DIMENSIONS: dict[str, Dimension] = {
    d.key: d
    for d in (
        Dimension(
            "province",
            "Province",
            "geography",
            lambda _p, _n, s: _listed(s.province, PROVINCE_NAMES),
            _fixed((*PROVINCE_NAMES, OTHER)),
        ),
        Dimension("region", "Region", "geography", _region, _fixed((*REGIONS, OTHER))),
        Dimension(
            "city",
            "City",
            "city",
            lambda _p, _n, s: _listed(s.city, CITY_NAMES),
            _fixed((*CITY_NAMES, OTHER, NOT_STATED)),
        ),
        Dimension("age_band", "Age band", "age", _age_band, _fixed((*AGE_BANDS, NOT_STATED))),
        Dimension(
            "gender",
            "Gender",
            "gender",
            lambda _p, _n, s: _listed(s.gender, GENDERS, NOT_STATED),
            _fixed((*GENDERS, NOT_STATED)),
        ),
        Dimension(
            "property_type",
            "Property type",
            "property",
            lambda _p, _n, s: _listed(s.property_type, PROPERTY_TYPES, NOT_STATED),
            _fixed((*PROPERTY_TYPES, NOT_STATED)),
        ),
        Dimension(
            "trade",
            "Trade",
            "trade",
            lambda _p, n, s: _by_id(s.trade_id, n.trades),
            lambda _p, n: (*sorted(n.trades.values()), OTHER),
        ),
        Dimension(
            "service_type",
            "Service type",
            "service",
            lambda _p, n, s: _by_id(s.service_type_id, n.service_types),
            lambda _p, n: (*sorted(n.service_types.values()), OTHER),
        ),
        Dimension(
            "channel",
            "Channel",
            "channel",
            lambda _p, _n, s: _listed(s.channel, LEAD_CHANNELS),
            _fixed((*LEAD_CHANNELS, OTHER)),
        ),
        Dimension("month", "Month", "time", _month, _labels_in("month")),
        Dimension("quarter", "Quarter", "time", _quarter, _labels_in("quarter")),
        Dimension("year", "Year", "time", _year, _labels_in("year")),
    )
}


@dataclass(frozen=True)
class Measure:
    """What a cell shows. Counts add up along the margins; shares and averages do not, and are
    shown only where their denominator (``denominator``) covers at least k."""

    key: str
    label: str
    kind: str  # "count" or "ratio"
    denominator: str | None = None


MEASURES: dict[str, Measure] = {
    m.key: m
    for m in (
        Measure("homeowners", "Homeowners", "count"),
        Measure("leads", "Leads", "count"),
        Measure("hires", "Hires", "count"),
        Measure("completed", "Completed jobs", "count"),
        Measure("share_hired", "Share hired", "ratio", "leads"),
        Measure("avg_rating", "Average rating", "ratio", "reviews"),
    )
}

#: Lead statuses that mean "hired" and "completed" (the status only moves forward, except
#: ``closed``, which ends a lead that was never hired).
HIRED_STATUSES = ("hired", "completed", "reviewed")
COMPLETED_STATUSES = ("completed", "reviewed")


class BadSpec(ValueError):
    """An invalid table request; ``str(exc)`` is a user-facing sentence."""


def check_dimensions(keys: Sequence[str]) -> tuple[str, ...]:
    """The chosen dimension keys, validated: known, at most three, one per hierarchy."""
    keys = tuple(k for k in keys if k)
    if not keys:
        raise BadSpec("Choose at least one dimension.")
    if len(keys) > MAX_DIMENSIONS:
        raise BadSpec(f"Choose at most {MAX_DIMENSIONS} dimensions.")
    unknown = [k for k in keys if k not in DIMENSIONS]
    if unknown:
        raise BadSpec(f"Unknown dimension: {unknown[0][:40]!r}.")
    groups = [DIMENSIONS[k].group for k in keys]
    if len(set(groups)) != len(groups):
        raise BadSpec(
            "Choose one level of each hierarchy (province or region; month, quarter or year)."
        )
    return keys
