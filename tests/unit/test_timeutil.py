"""South African days: the fixed offset the SQL uses, the day of an instant in SQL and in Python,
the UTC bounds of a day, and the text staff read.

Oracles are written out by hand (22:00 UTC is midnight in Johannesburg) or taken from the
time-zone database, never from the functions under test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, insert, select

from data.sqlfuncs import SA_OFFSET_HOURS, day_of, month_start
from data.timeutil import as_date, sa_date, sa_text, start_of

JOHANNESBURG = ZoneInfo("Africa/Johannesburg")


def test_the_fixed_offset_is_the_time_zone_database_s_every_day_for_decades():
    """The SQL shifts by a constant; South Africa has had no daylight saving since 1944. If the
    time-zone database ever disagrees (a new law), this fails before a day is miscounted."""
    day = datetime(1995, 1, 1, 12, tzinfo=UTC)
    while day.year < 2041:
        assert day.astimezone(JOHANNESBURG).utcoffset() == timedelta(hours=SA_OFFSET_HOURS)
        day += timedelta(days=7)


@pytest.mark.parametrize(
    ("stored", "day"),
    [
        (datetime(2026, 5, 31, 21, 59, 59), date(2026, 5, 31)),
        (datetime(2026, 5, 31, 21, 59, 59, 999999), date(2026, 5, 31)),  # SQLite would round
        (datetime(2026, 5, 31, 22, 0, 0), date(2026, 6, 1)),
        (datetime(2026, 5, 31, 23, 30), date(2026, 6, 1)),
        (datetime(2026, 6, 1, 0, 0), date(2026, 6, 1)),
        (datetime(2026, 12, 31, 22, 0), date(2027, 1, 1)),  # and a new month and year
        (datetime(2028, 2, 28, 22, 0), date(2028, 2, 29)),  # leap day
    ],
)
def test_the_day_of_an_instant_is_johannesburg_s_in_python_and_in_sql(db, stored, day):
    # a temporary table, as the rollups' scratch tables are: DDL on the main schema in one
    # pooled connection made SQLite's next DELETE on an FTS5 content table fail in another
    instants = Table(
        "tmp_instants",
        MetaData(),
        Column("id", Integer),
        Column("at", DateTime),
        prefixes=["TEMPORARY"],
    )
    with db.begin() as conn:
        instants.drop(conn, checkfirst=True)
        instants.create(conn)
        try:
            conn.execute(insert(instants), [{"id": 1, "at": stored}])
            sql_day, sql_month = conn.execute(
                select(day_of(instants.c.at), month_start(instants.c.at))
            ).one()
        finally:
            instants.drop(conn)
    assert sa_date(stored) == day
    assert as_date(sql_day) == day
    assert str(sql_month) == f"{day:%Y-%m}-01"


def test_a_day_starts_at_22_00_utc_the_day_before():
    assert start_of(date(2026, 6, 1)) == datetime(2026, 5, 31, 22, 0)
    assert start_of(date(2027, 1, 1)) == datetime(2026, 12, 31, 22, 0)


def test_staff_read_johannesburg_days_and_times():
    assert sa_text(datetime(2026, 5, 31, 22, 30)) == "2026-06-01 00:30 SAST"
    assert sa_text(datetime(2026, 5, 31, 22, 30), with_time=False) == "2026-06-01"
    assert sa_text(datetime(2026, 5, 31, 21, 59), with_time=False) == "2026-05-31"
    assert sa_text(None) == "–"
