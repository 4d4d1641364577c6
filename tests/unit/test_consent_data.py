"""Current consent, coverage, trends and source sites (``data.consent``) against a small world
whose answers are worked out by hand below.

Range: 1–31 March 2026 (South African days), so coverage is measured at 31 March 23:59:59.999999
SAST = 2026-03-31 21:59:59.999999 UTC and the trend is daily.

Homeowners (created 2026-01-01 unless said):
  A main: service_contact ✓ 01-01; marketing_email ✓ 01-01, ✗ 03-05 (email);
          analytics ✓ 03-31 21:59:59 UTC (still 31 March in SA), ✗ 03-31 22:00 UTC (1 April).
  B main: service_contact ✓ 01-01; marketing_email ✗ (email) then ✓ (web form) both at
          03-20 10:00, the grant recorded second → granted (the tie goes to the later id);
          analytics ✗ 03-31 10:00 (cookie banner).
  C main: marketing_email ✗ 03-15 recorded first, ✓ 03-09 22:30 UTC (= 10 March SA) recorded
          second → withdrawn (the latest *time* wins, not the latest id).
  D solar-site: service_contact ✓ 03-02; marketing_email ✓ 02-01, ✗ 04-02 (after the range).
  E erased 02-15 (not in the population). F created 04-05 (after the range), service ✓ 04-05.
Partners: P1 service_contact ✓ 2025-06-01; P2 nothing.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
from sqlalchemy import delete, insert, update

from data.consent import base, rollup
from data.consent.coverage import by_source_site, coverage
from data.consent.current import consent_of
from data.consent.filters import ConsentFilters
from data.consent.trends import analytics_opt_out_rate, changes
from data.db import session_scope
from data.erasure.execute import erase_subject
from data.models import ConsentEvent, Homeowner
from data.privacy.optouts import current_consent
from tests.consent_support import consent
from tests.factories import add_homeowner, add_partner

JAN = datetime(2026, 1, 1)
MARCH = ConsentFilters(date(2026, 3, 1), date(2026, 3, 31))


@pytest.fixture
def world(db):
    ids: dict[str, int] = {}
    with session_scope(db) as s:
        a = add_homeowner(s, created_at=JAN)
        b = add_homeowner(s, created_at=JAN)
        c = add_homeowner(s, created_at=JAN)
        d = add_homeowner(s, created_at=JAN, source_site="solar-site")
        add_homeowner(s, created_at=JAN, erased_at=datetime(2026, 2, 15), email=None, phone=None)
        f = add_homeowner(s, created_at=datetime(2026, 4, 5))
        p1 = add_partner(s, joined_at=datetime(2025, 1, 1))
        add_partner(s, joined_at=datetime(2025, 1, 1))
        ids.update(a=a.id, b=b.id, c=c.id, d=d.id, p1=p1.id)

        consent(s, a.id, "service_contact", True, JAN)
        consent(s, a.id, "marketing_email", True, JAN)
        consent(s, a.id, "marketing_email", False, datetime(2026, 3, 5, 9), source="email")
        consent(s, a.id, "analytics_tracking", True, datetime(2026, 3, 31, 21, 59, 59),
                source="cookie_banner")  # fmt: skip
        consent(s, a.id, "analytics_tracking", False, datetime(2026, 3, 31, 22, 0, 0),
                source="cookie_banner")  # fmt: skip
        consent(s, b.id, "service_contact", True, JAN)
        consent(s, b.id, "marketing_email", False, datetime(2026, 3, 20, 10), source="email")
        consent(s, b.id, "marketing_email", True, datetime(2026, 3, 20, 10))
        consent(s, b.id, "analytics_tracking", False, datetime(2026, 3, 31, 10),
                source="cookie_banner")  # fmt: skip
        consent(s, c.id, "marketing_email", False, datetime(2026, 3, 15), source="email")
        consent(s, c.id, "marketing_email", True, datetime(2026, 3, 9, 22, 30))
        consent(s, d.id, "service_contact", True, datetime(2026, 3, 2))
        consent(s, d.id, "marketing_email", True, datetime(2026, 2, 1))
        consent(s, d.id, "marketing_email", False, datetime(2026, 4, 2), source="email")
        consent(s, f.id, "service_contact", True, datetime(2026, 4, 5))
        consent(s, p1.id, "service_contact", True, datetime(2025, 6, 1), subject_type="partner")
    return ids


def _cov(df, subject_type, purpose):
    row = df[(df.subject_type == subject_type) & (df.purpose == purpose)].iloc[0]
    return (int(row.population), int(row.granted), int(row.withdrawn), int(row.never_asked))


def test_latest_event_wins_by_time_then_id(db, world):
    with session_scope(db) as s:
        assert consent_of(s, "homeowner", world["b"])["marketing_email"].granted is True
        assert consent_of(s, "homeowner", world["c"])["marketing_email"].granted is False
        assert consent_of(s, "homeowner", world["a"])["analytics_tracking"].granted is False
        at_end = consent_of(s, "homeowner", world["a"], as_of=MARCH.as_of)
        assert at_end["analytics_tracking"].granted is True
        assert "call_recording" not in at_end  # never asked
        # The opt-out code reads the same definition.
        assert current_consent(s, "homeowner", world["c"])["marketing_email"] == (
            False,
            datetime(2026, 3, 15),
        )


def test_coverage_counts_and_shares(db, world):
    with db.connect() as conn:
        df = coverage(conn, MARCH)
    assert _cov(df, "homeowner", "service_contact") == (4, 3, 0, 1)
    assert _cov(df, "homeowner", "marketing_email") == (4, 2, 2, 0)
    assert _cov(df, "homeowner", "analytics_tracking") == (4, 1, 1, 2)
    assert _cov(df, "homeowner", "call_recording") == (4, 0, 0, 4)
    assert _cov(df, "partner", "service_contact") == (2, 1, 0, 1)
    assert _cov(df, "partner", "marketing_email") == (2, 0, 0, 2)
    row = df[(df.subject_type == "homeowner") & (df.purpose == "service_contact")].iloc[0]
    assert row.granted_share == pytest.approx(0.75)
    assert row.never_asked_share == pytest.approx(0.25)
    assert len(df) == 16  # 2 subject types × 8 purposes


def test_coverage_filters(db, world):
    solar = ConsentFilters(date(2026, 3, 1), date(2026, 3, 31), source="solar-site")
    partner_email = ConsentFilters(
        date(2026, 3, 1), date(2026, 3, 31), subject_type="partner", purpose="marketing_email"
    )
    february = ConsentFilters(date(2026, 2, 1), date(2026, 2, 28))
    with db.connect() as conn:
        by_site = coverage(conn, solar)
        partners = coverage(conn, partner_email)
        before = coverage(conn, february)
    assert set(by_site.subject_type) == {"homeowner"}
    assert _cov(by_site, "homeowner", "marketing_email") == (1, 1, 0, 0)
    assert _cov(by_site, "homeowner", "service_contact") == (1, 1, 0, 0)
    assert partners.to_dict("records")[0]["population"] == 2
    assert len(partners) == 1
    # End of February: E was erased on 02-15; D had not yet granted service contact.
    assert _cov(before, "homeowner", "service_contact") == (4, 2, 0, 2)
    assert _cov(before, "homeowner", "marketing_email") == (4, 2, 0, 2)


def test_by_source_site(db, world):
    with db.connect() as conn:
        df = by_source_site(conn, MARCH)
    email = df[df.purpose == "marketing_email"].set_index("source_site")
    assert email.loc["main", ["population", "granted", "withdrawn"]].tolist() == [3, 1, 2]
    assert email.loc["solar-site", ["population", "granted", "withdrawn"]].tolist() == [1, 1, 0]
    assert email.loc["main", "granted_share"] == pytest.approx(1 / 3)


def test_changes_per_day_and_channel(db, world):
    with db.connect() as conn:
        df = changes(conn, MARCH)
    got = {(r.period, r.purpose, r.channel): (r.opt_ins, r.opt_outs) for r in df.itertuples()}
    assert got == {
        ("2026-03-02", "service_contact", "web_form"): (1, 0),
        ("2026-03-05", "marketing_email", "email"): (0, 1),
        ("2026-03-10", "marketing_email", "web_form"): (1, 0),
        ("2026-03-15", "marketing_email", "email"): (0, 1),
        ("2026-03-20", "marketing_email", "email"): (0, 1),
        ("2026-03-20", "marketing_email", "web_form"): (1, 0),
        ("2026-03-31", "analytics_tracking", "cookie_banner"): (1, 1),
    }


def test_changes_monthly_and_filtered(db, world):
    year = ConsentFilters(date(2025, 4, 1), date(2026, 3, 31), purpose="marketing_email")
    partner = ConsentFilters(date(2025, 4, 1), date(2026, 3, 31), subject_type="partner")
    with db.connect() as conn:
        monthly = changes(conn, year)
        partners = changes(conn, partner)
    got = {(r.period, r.channel): (r.opt_ins, r.opt_outs) for r in monthly.itertuples()}
    assert got == {
        ("2026-01-01", "web_form"): (1, 0),  # A
        ("2026-02-01", "web_form"): (1, 0),  # D
        ("2026-03-01", "email"): (0, 3),  # A, B, C
        ("2026-03-01", "web_form"): (2, 0),  # B, C (C's grant at 03-09 22:30 UTC)
    }
    assert partners[["period", "purpose", "opt_ins"]].values.tolist() == [
        ["2025-06-01", "service_contact", 1]
    ]


def test_analytics_opt_out_rate(db, world):
    with db.connect() as conn:
        df = analytics_opt_out_rate(conn, MARCH)
    assert df.to_dict("records") == [
        {"period": "2026-03-31", "opt_ins": 1, "opt_outs": 1, "decisions": 2, "opt_out_rate": 0.5}
    ]


def test_empty_database_gives_empty_frames(db):
    with db.connect() as conn:
        assert changes(conn, MARCH).empty
        assert analytics_opt_out_rate(conn, MARCH).empty
        df = coverage(conn, MARCH)
    assert set(df.population) == {0} and set(df.granted_share) == {0.0}


def test_filters_refuse_bad_values():
    with pytest.raises(ValueError):
        ConsentFilters(date(2026, 3, 2), date(2026, 3, 1))
    with pytest.raises(ValueError):
        ConsentFilters(date(2026, 3, 1), date(2026, 3, 2), purpose="x' OR 1=1")


ORACLE_FILTERS = [
    MARCH,
    ConsentFilters(date(2026, 2, 1), date(2026, 2, 28)),
    ConsentFilters(date(2025, 4, 1), date(2026, 4, 30)),
    ConsentFilters(date(2026, 3, 1), date(2026, 4, 30), source="solar-site"),
    ConsentFilters(date(2026, 3, 1), date(2026, 3, 31), subject_type="partner"),
    ConsentFilters(date(2026, 1, 1), date(2026, 12, 31), purpose="analytics_tracking"),
]


@pytest.mark.parametrize("f", ORACLE_FILTERS, ids=range(len(ORACLE_FILTERS)))
def test_rollup_equals_the_event_log(db, world, f):
    with db.connect() as conn:
        pairs = [
            (coverage(conn, f), base.coverage(conn, f)),
            (by_source_site(conn, f), base.by_source_site(conn, f)),
            (changes(conn, f), base.changes(conn, f)),
            (analytics_opt_out_rate(conn, f), base.analytics_opt_out_rate(conn, f)),
        ]
    for fast, slow in pairs:
        pd.testing.assert_frame_equal(
            fast.reset_index(drop=True), slow.reset_index(drop=True), check_dtype=False
        )


def _same_as_the_log(conn, f=MARCH):
    pd.testing.assert_frame_equal(coverage(conn, f), base.coverage(conn, f), check_dtype=False)
    pd.testing.assert_frame_equal(changes(conn, f), base.changes(conn, f), check_dtype=False)


def test_an_event_recorded_last_is_added_in_place(db, world):
    with db.connect() as conn:
        assert _cov(coverage(conn, MARCH), "homeowner", "call_recording") == (4, 0, 0, 4)
    with session_scope(db) as s:  # the opt-out path: ORM inserts, each last in its history
        consent(s, world["a"], "call_recording", True, datetime(2026, 3, 3))
        consent(s, world["b"], "marketing_email", False, datetime(2026, 3, 25), source="phone")
        consent(s, world["c"], "marketing_email", True, datetime(2026, 3, 15))  # same instant
    with db.connect() as conn:
        assert rollup.is_fresh(conn)  # no rebuild needed
        assert _cov(coverage(conn, MARCH), "homeowner", "call_recording") == (4, 1, 0, 3)
        # B withdrew again; C's grant at the instant of its withdrawal wins (recorded later).
        assert _cov(coverage(conn, MARCH), "homeowner", "marketing_email") == (4, 2, 2, 0)
        _same_as_the_log(conn)


def test_other_writes_are_followed_in_place(db, world):
    with db.connect() as conn:
        coverage(conn, MARCH)
    with session_scope(db) as s:  # an event older than its history's latest
        consent(s, world["a"], "marketing_email", True, datetime(2026, 3, 1))
    with db.connect() as conn:
        assert rollup.is_fresh(conn)  # followed, no rebuild
        assert _cov(coverage(conn, MARCH), "homeowner", "marketing_email") == (4, 2, 2, 0)
        _same_as_the_log(conn)
    with session_scope(db) as s:  # bulk statements (the erasure's deletes)
        s.execute(
            delete(ConsentEvent).where(
                ConsentEvent.subject_id == world["a"], ConsentEvent.subject_type == "homeowner"
            )
        )
        s.execute(update(Homeowner).where(Homeowner.id == world["a"])
                  .values(erased_at=datetime(2026, 3, 4)))  # fmt: skip
    with db.connect() as conn:
        assert rollup.is_fresh(conn)
        assert _cov(coverage(conn, MARCH), "homeowner", "call_recording") == (3, 0, 0, 3)
        # A (withdrawn) is gone: B and D granted, C withdrawn.
        assert _cov(coverage(conn, MARCH), "homeowner", "marketing_email") == (3, 2, 1, 0)
        _same_as_the_log(conn)
    with session_scope(db) as s:  # a subject moved to another site, one deleted outright
        s.get(Homeowner, world["d"]).source_site = "main"
        s.execute(delete(ConsentEvent).where(ConsentEvent.subject_id == world["p1"],
                                             ConsentEvent.subject_type == "partner"))  # fmt: skip
    with db.connect() as conn:
        assert rollup.is_fresh(conn)
        for f in ORACLE_FILTERS:
            _same_as_the_log(conn, f)


def test_writes_it_cannot_follow_mark_it_stale_and_reads_rebuild(db, world):
    with db.connect() as conn:
        coverage(conn, MARCH)
    with session_scope(db) as s:  # a bulk INSERT names no subject beforehand
        s.execute(insert(ConsentEvent).values(subject_type="homeowner", subject_id=world["c"],
                                              purpose="call_recording", granted=True,
                                              at=datetime(2026, 3, 3), source="phone"))  # fmt: skip
    with db.connect() as conn:
        assert not rollup.is_fresh(conn)
        assert _cov(coverage(conn, MARCH), "homeowner", "call_recording") == (4, 1, 0, 3)
        assert rollup.is_fresh(conn)
        _same_as_the_log(conn)


def test_a_change_that_cannot_move_the_rollup_leaves_it_fresh(db, world):
    with db.connect() as conn:
        coverage(conn, MARCH)
    with session_scope(db) as s:
        s.get(Homeowner, world["b"]).first_name = "Renamed"
    with db.connect() as conn:
        assert rollup.is_fresh(conn)


def test_an_erasure_leaves_the_rollup_equal_to_the_log(db, world):
    with db.connect() as conn:
        coverage(conn, MARCH)
    with session_scope(db) as s:
        erase_subject(s, "homeowner", world["a"], now=datetime(2026, 3, 4), key=b"k",
                      verify=False)  # fmt: skip
    with db.connect() as conn:
        assert rollup.is_fresh(conn)  # followed in the erasure's transaction
        assert _cov(coverage(conn, MARCH), "homeowner", "marketing_email") == (3, 2, 1, 0)
        _same_as_the_log(conn)
