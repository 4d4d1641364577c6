"""The demo generator: deterministic, complete, and consistent with the schema's rules.

Runs on a private SQLite file, or on ``TEST_DATABASE_URL`` when set (the build replaces the
schema there, as ``flask demo-data`` does). 2,000 leads keep it to a few seconds.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import DateTime, Engine, func, inspect, select, text
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from data.compliance.common import Window
from data.compliance.monitor import violation_counts
from data.db import make_engine
from data.demo import DemoSummary, build_demo
from data.erasure.retention import RULE_BY_CODE, cutoff, due_ids
from data.identifiers import normalise_phone
from data.models import (
    CONSENT_PURPOSES,
    REQUEST_STATUSES,
    REQUEST_TYPES,
    ROLES,
    VETTING_STATUSES,
    Base,
    ConsentEvent,
    Homeowner,
    Lead,
    LeadEvent,
    LeadShare,
    Partner,
    PrivacyRequest,
    Review,
    Suppression,
    User,
)
from data.timeutil import start_of

AS_OF = date(2025, 10, 31)
LEADS = 2_000
SEED = 11
PASSWORD = "demo-password"
# Salted on purpose, so never identical between builds.
# Salted hashes; cache counters, which start at a random number by design (data.rollups).
NOT_DETERMINISTIC = {("app_user", "password_hash"), ("rollup_state", "value")}
# Deadlines, not events: an open request is due after ``as_of``.
DEADLINES = {("privacy_request", "due_at"), ("privacy_request", "original_due_at")}


@dataclass
class Demo:
    engine: Engine
    summary: DemoSummary
    digest: dict[str, str]


def table_digests(engine: Engine) -> dict[str, str]:
    """A SHA-256 per table over every row, ordered by primary key."""
    digests = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if (table.name, c.name) not in NOT_DETERMINISTIC]
            query = select(*columns).order_by(*table.primary_key.columns)
            digest = hashlib.sha256()
            for row in conn.execute(query):
                digest.update(repr(tuple(row)).encode())
            digests[table.name] = digest.hexdigest()
    return digests


def build(engine: Engine, seed: int = SEED, workers: int | None = None) -> DemoSummary:
    return build_demo(
        engine,
        leads=LEADS,
        seed=seed,
        as_of=AS_OF,
        password=PASSWORD,
        progress=lambda _line: None,
        workers=workers,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    patch = pytest.MonkeyPatch()
    patch.setenv("SUPPRESSION_KEY", "demo-test-key")
    url = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    )
    engine = make_engine(url)
    summary = build(engine)
    yield Demo(engine, summary, table_digests(engine))
    engine.dispose()
    patch.undo()


def test_summary_counts_match_the_tables(demo: Demo) -> None:
    with demo.engine.connect() as conn:
        for name, count in demo.summary.rows.items():
            assert conn.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one() == count
    assert demo.summary.rows["lead"] == LEADS
    # 0.8 per lead, plus six dormant homeowners past retention (at least six, 0.2 %)
    assert demo.summary.rows["homeowner"] == round(0.8 * LEADS) + 6
    assert demo.summary.rows["partner"] == max(10, round(LEADS / 200))
    assert demo.summary.seconds > 0


def test_partner_statuses_and_trades(demo: Demo) -> None:
    with demo.engine.connect() as conn:
        statuses = dict(
            conn.execute(
                select(Partner.vetting_status, func.count()).group_by(Partner.vetting_status)
            ).all()
        )
        assert set(statuses) == set(VETTING_STATUSES)
        trades_without_vetted = conn.execute(
            text(
                "SELECT COUNT(*) FROM trade t WHERE NOT EXISTS (SELECT 1 FROM partner_trade pt "
                "JOIN partner p ON p.id = pt.partner_id "
                "WHERE pt.trade_id = t.id AND p.vetting_status = 'vetted')"
            )
        ).scalar_one()
        assert trades_without_vetted == 0


def test_every_request_type_and_status_one_extension_one_legal_hold(demo: Demo) -> None:
    with demo.engine.connect() as conn:
        types = set(conn.execute(select(PrivacyRequest.type).distinct()).scalars())
        statuses = set(conn.execute(select(PrivacyRequest.status).distinct()).scalars())
        extended = conn.execute(select(PrivacyRequest).where(PrivacyRequest.extended)).all()
        holds = conn.execute(
            select(func.count()).where(Homeowner.legal_hold.is_not(None))
        ).scalar_one()
        requests = conn.execute(select(PrivacyRequest)).all()
    assert types == set(REQUEST_TYPES)
    assert statuses == set(REQUEST_STATUSES)
    assert len(extended) == 1 and holds == 1
    (ext,) = extended
    assert ext.extension_reason and ext.extension_notice_at < ext.original_due_at
    assert ext.due_at == ext.original_due_at + timedelta(days=30)
    now = datetime.combine(AS_OF, time.min)
    for r in requests:
        assert r.original_due_at == r.received_at + timedelta(days=30)
        if not r.extended:
            assert r.due_at == r.original_due_at
        if r.status == "denied":
            assert r.denial_reason and r.resolution_note and r.closed_at
        if r.status == "duplicate":
            original = next(o for o in requests if o.id == r.duplicate_of_id)
            assert (original.subject_type, original.subject_id, original.type) == (
                r.subject_type,
                r.subject_id,
                r.type,
            )
    assert any(
        r.status in ("received", "verifying", "in_progress") and r.due_at < now for r in requests
    ), "some open requests should be overdue"


def test_one_user_per_role_with_the_given_password(demo: Demo) -> None:
    with demo.engine.connect() as conn:
        users = conn.execute(select(User.username, User.role, User.password_hash)).all()
    assert sorted(u.role for u in users) == sorted(ROLES)
    assert {u.username for u in users} == {"admin", "manager", "privacy", "marketing"}
    assert all(check_password_hash(u.password_hash, PASSWORD) for u in users)
    assert len({u.password_hash for u in users}) == 1  # hashed once


def test_nothing_happens_after_as_of(demo: Demo) -> None:
    end = datetime.combine(AS_OF + timedelta(days=1), time.min)
    start = end - timedelta(days=730)
    with demo.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, DateTime) or (table.name, column.name) in DEADLINES:
                    continue
                latest = conn.execute(select(func.max(column))).scalar_one()
                assert latest is None or latest < end, f"{table.name}.{column.name}: {latest}"
        first_lead = conn.execute(select(func.min(Lead.created_at))).scalar_one()
    assert first_lead >= start


def test_shares_and_reviews_copy_the_lead(demo: Demo) -> None:
    with demo.engine.connect() as conn:
        mismatched = conn.execute(
            select(func.count())
            .select_from(LeadShare)
            .join(Lead, Lead.id == LeadShare.lead_id)
            .where((LeadShare.trade_id != Lead.trade_id) | (LeadShare.province != Lead.province))
        ).scalar_one()
        reviews_mismatched = conn.execute(
            select(func.count())
            .select_from(Review)
            .join(Lead, Lead.id == Review.lead_id)
            .where((Review.trade_id != Lead.trade_id) | (Review.homeowner_id != Lead.homeowner_id))
        ).scalar_one()
        most_hires = conn.execute(
            text(
                "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM lead_share "
                "WHERE hired_at IS NOT NULL GROUP BY lead_id) AS hires"
            )
        ).scalar_one()
        out_of_order = conn.execute(
            select(func.count()).where(
                (LeadShare.first_contact_at < LeadShare.shared_at)
                | (LeadShare.quoted_at < LeadShare.first_contact_at)
                | (LeadShare.hired_at < LeadShare.quoted_at)
                | (LeadShare.completed_at < LeadShare.hired_at)
            )
        ).scalar_one()
    assert mismatched == 0 and reviews_mismatched == 0
    assert most_hires == 1
    assert out_of_order == 0


def test_lead_status_is_the_last_event(demo: Demo) -> None:
    with demo.engine.connect() as conn:
        last = (
            select(LeadEvent.lead_id, func.max(LeadEvent.id).label("id"))
            .group_by(LeadEvent.lead_id)
            .subquery()
        )
        wrong = conn.execute(
            select(func.count())
            .select_from(Lead)
            .join(last, last.c.lead_id == Lead.id)
            .join(LeadEvent, LeadEvent.id == last.c.id)
            .where(LeadEvent.to_status != Lead.status)
        ).scalar_one()
        leads_with_events = conn.execute(
            select(func.count(func.distinct(LeadEvent.lead_id)))
        ).scalar_one()
    assert wrong == 0 and leads_with_events == LEADS


def test_contacts_are_normalised_and_erasures_complete(demo: Demo) -> None:
    with demo.engine.connect() as conn:
        people = conn.execute(
            select(Homeowner.id, Homeowner.email, Homeowner.phone, Homeowner.erased_at)
        ).all()
        consent_of_erased = conn.execute(
            select(func.count())
            .select_from(ConsentEvent)
            .join(Homeowner, Homeowner.id == ConsentEvent.subject_id)
            .where(ConsentEvent.subject_type == "homeowner", Homeowner.erased_at.is_not(None))
        ).scalar_one()
        purposes = set(conn.execute(select(ConsentEvent.purpose).distinct()).scalars())
        withdrawn = conn.execute(
            select(func.count()).where(ConsentEvent.granted.is_(False))
        ).scalar_one()
        digests = conn.execute(select(Suppression.digest)).scalars().all()
    erased = [p for p in people if p.erased_at is not None]
    assert erased and all(p.email is None and p.phone is None for p in erased)
    live = [p for p in people if p.erased_at is None]
    assert all(p.email == p.email.lower() and "@" in p.email for p in live)
    assert all(normalise_phone(p.phone) == p.phone for p in live)
    assert len({p.email for p in live}) == len(live) and len({p.phone for p in live}) == len(live)
    assert consent_of_erased == 0
    assert purposes == set(CONSENT_PURPOSES) and withdrawn > 0
    assert len(digests) >= 2 * len(erased)
    assert all(re.fullmatch(r"[0-9a-f]{64}", d) for d in digests)


def test_foreign_keys_hold(demo: Demo) -> None:
    with demo.engine.connect() as conn:
        if demo.engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        else:
            unvalidated = conn.execute(
                text("SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated")
            ).scalar_one()
            assert unvalidated == 0


def test_data_meta_records_the_build(demo: Demo) -> None:
    with demo.engine.connect() as conn:
        meta = dict(conn.execute(text("SELECT key, value FROM data_meta")).all())
    assert meta == {"demo_seed": str(SEED), "demo_leads": str(LEADS), "demo_as_of": "2025-10-31"}


@pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index ix_homeowner_name_lower"
)
def test_the_bulk_load_keeps_the_erasure_indexes_as_migrated(demo: Demo) -> None:
    """The loader drops indexes and builds them again after the load (PostgreSQL from their
    definitions, SQLite from the tables' DDL): the placeholder's partial index is there and, on
    PostgreSQL, the word indexes still have no pending list (migration 0021)."""
    names = {i["name"] for i in inspect(demo.engine).get_indexes("homeowner")}
    assert "ix_homeowner_placeholder" in names
    if demo.engine.dialect.name == "postgresql":
        with demo.engine.connect() as conn:
            pending = conn.scalars(
                text(
                    "SELECT relname FROM pg_class WHERE relname LIKE 'ix\\_%\\_search' "
                    "AND NOT 'fastupdate=off' = ANY(coalesce(reloptions, '{}'))"
                )
            ).all()
        assert pending == []


def test_statistics_copied_from_the_loaders_equal_a_fresh_analyze(demo: Demo) -> None:
    """SQLite: each loading worker analyses its tables in its own file and the merge copies
    those rows of ``sqlite_stat1``; they must be what ``ANALYZE`` of the loaded database
    computes, and every base table with rows must have them (the planner relies on them)."""
    if demo.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL is analysed by the server after the load")
    stat = text("SELECT tbl, idx, stat FROM sqlite_stat1 WHERE tbl = :t ORDER BY idx")
    with demo.engine.connect() as conn:
        loaded = {name: conn.execute(stat, {"t": name}).all() for name in demo.summary.rows}
    assert [name for name, rows in loaded.items() if not rows] == []
    with demo.engine.begin() as conn:
        for name in loaded:
            conn.execute(text(f'ANALYZE "{name}"'))
        fresh = {name: conn.execute(stat, {"t": name}).all() for name in loaded}
    assert loaded == fresh


def test_derived_tables_built_side_by_side_equal_a_rebuild_in_place(demo: Demo) -> None:
    """The build rebuilds the rollups, the lead flow, the consent rollup and the aggregate
    cells in two halves at once (SQLite: half of them in a worker's file, copied in); the
    plain rebuilds, run in place one after the other, must give the same rows."""
    from data.aggregates.cube_rebuild import rebuild as rebuild_cells
    from data.consent.rollup import rebuild as rebuild_consent
    from data.demo.derived import ASIDE
    from data.erasure import vocabulary
    from data.rollups import rebuild_all

    derived = [t.name for part in ASIDE for t in part.tables]
    derived += ["rollup_share_partner", "consent_day"]
    empty = hashlib.sha256().hexdigest()
    assert [name for name in derived if demo.digest[name] == empty] == []
    recorded = text("SELECT table_name, column_name, value FROM search_vocabulary")
    with demo.engine.connect() as conn:
        triggers = vocabulary.covered(conn)
        values = set(conn.execute(recorded).all())
    assert {"aggregate_cell", "rollup_flow_full", "rollup_share_partner_province"} <= set(triggers)
    rebuild_all(demo.engine)  # with the vocabulary's triggers recording what it writes
    with demo.engine.begin() as conn:
        rebuild_consent(conn)
        rebuild_cells(conn)
    assert table_digests(demo.engine) == demo.digest
    with demo.engine.connect() as conn:
        assert vocabulary.covered(conn) == triggers
        assert set(conn.execute(recorded).all()) == values


def test_same_seed_same_rows_other_seed_other_rows(demo: Demo) -> None:
    """Runs last: it rebuilds the database (other seed, then the first seed in-process)."""
    build(demo.engine, seed=SEED + 1, workers=0)
    other = table_digests(demo.engine)
    build(demo.engine, workers=0)
    again = table_digests(demo.engine)
    assert again == demo.digest
    changed = {name for name in again if again[name] != other[name]}
    assert {"homeowner", "partner", "lead", "lead_share", "review", "consent_event"} <= changed


def _national_digits(phone: str | None) -> str | None:
    return None if not phone else phone[3:]  # +27821234567 → 821234567


def _digits_of(text: str) -> str:
    return "".join(str(unicodedata.digit(ch)) for ch in text if unicodedata.category(ch) == "Nd")


def test_free_text_carries_contact_details_and_the_stored_twins_do_not(demo: Demo) -> None:
    """Issue 12, point 1: a few percent of comments and notes hold the homeowner's own phone,
    email or name (as real ones do), and the stored redacted twins hold none of them."""
    from data.models import Interaction

    def check(text_col, twin_col, owner_col) -> float:
        query = (
            select(text_col, twin_col, Homeowner.phone, Homeowner.email, Homeowner.first_name)
            .join(Homeowner, Homeowner.id == owner_col)
            .where(text_col.is_not(None))
        )
        with demo.engine.connect() as conn:
            rows = conn.execute(query).all()
        carrying = 0
        for written, twin, phone, email, first in rows:
            traces = [t for t in (_national_digits(phone), (email or "@").split("@")[0]) if t]
            words = re.findall(r"\w+", written.lower())
            if any(t in _digits_of(written) or t in written.lower() for t in traces) or (
                first and first.lower() in words
            ):
                carrying += 1
            assert twin is not None
            for trace in traces:
                assert trace not in _digits_of(twin) and trace not in twin.lower(), twin
            assert not first or first.lower() not in re.findall(r"\w+", twin.lower()), twin
        return carrying / len(rows)

    assert 0.01 <= check(Review.comment, Review.comment_redacted, Review.homeowner_id) <= 0.10
    assert check(Interaction.notes, Interaction.notes_redacted, Interaction.homeowner_id) >= 0.01
    assert check(Lead.description, Lead.description_redacted, Lead.homeowner_id) >= 0.01


PAST_RETENTION = """
SELECT id FROM homeowner
WHERE last_activity_at < :limit AND erased_at IS NULL AND email IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM lead WHERE lead.homeowner_id = homeowner.id)
ORDER BY id
"""


def test_some_homeowners_are_past_retention_and_the_sweep_would_erase_them(demo: Demo) -> None:
    """The /retention page's homeowner rule has work on a fresh demo: six people last active
    more than 24 months before the build (no lead of theirs in the data), nothing else."""
    now = datetime.combine(AS_OF, time(12))
    limit = now.replace(year=AS_OF.year - 2)
    with demo.engine.connect() as conn:
        old = conn.execute(text(PAST_RETENTION), {"limit": limit}).scalars().all()
    assert len(old) == 6
    rule = RULE_BY_CODE["homeowners"]
    with Session(demo.engine) as s:
        assert sorted(due_ids(s, rule, cutoff(rule, 24, now), 100)) == old


def test_the_monitor_finds_a_few_of_each_violation_in_the_default_period(demo: Demo) -> None:
    """Issue 15: over the page's default period (the last 90 days) of a fresh demo, every rule
    of the compliance monitor finds a few violations, not none and not hundreds
    (``data/demo/compliance.py`` plants them)."""
    window = Window(start_of(AS_OF - timedelta(days=89)), start_of(AS_OF + timedelta(days=1)),
                    datetime.combine(AS_OF, time(12)))  # fmt: skip
    with Session(demo.engine) as s:
        counts = violation_counts(s, window).groupby("rule").violations.sum().to_dict()
    few = {rule for rule, n in counts.items() if 1 <= n <= 10}
    assert few == {
        "marketing_after_withdrawal",
        "recordings_without_consent",
        "shares_after_withdrawal",
        "past_retention",
        "suppressed_reappearing",
        "access_past_due",
    }, counts
