"""The set-wise batch erasure (``execute.erase_subjects``, the retention sweep's) against the
single-subject path it replaced as the oracle: the same homeowners erased one by one (each in
its own transaction, a blocked one skipped, as the sweep used to) and as one batch, on the same
world built twice, leave every table equal, and give every subject the same receipt.

The world is ``make_crowded_world`` (Thandi Nkosi, and another homeowner and partner with a row
in every table) plus :func:`add_batch_people`: Lerato and Sipho with leads, shares, lead events,
reviews both ways, calls, consent events, requests and a note, sharing one call (on Sipho's
record, about Lerato's lead) and one email (Sipho's request gave Lerato's address), and two
blocked homeowners (a legal hold, an open dispute). Counts expected of the batch are written
by hand from that description.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from itertools import count

import pytest
from sqlalchemy import select

from data.db import session_scope
from data.erasure import execute, retention
from data.erasure.execute import ErasureRefused, erase_subject, erase_subjects
from data.erasure.retention import _erase_homeowners
from data.models import (
    AuditLog,
    ConsentEvent,
    Homeowner,
    Interaction,
    LeadEvent,
    PrivacyRequestNote,
    Review,
    Suppression,
)
from data.schema import load_all_models
from tests import factories
from tests.conftest import empty_all_tables
from tests.factories import add_homeowner, add_lead, add_privacy_request, add_review, add_share
from tests.privacy_support import KEY, NOW, World, make_crowded_world, others_rows
from tests.unit.test_erasure import rebuilt_rollups, rollup_state, statistics

#: Tables whose contents legitimately differ between the two runs: the audit log and its chain
#: head (entry times and hashes), and ``rollup_state``, whose cache versions are random tokens
#: drawn at every bump (building the world bumps them). Nothing else differs: ids are equal
#: (same world, same order of inserts) and every time the erasure writes is ``NOW``.
NOT_COMPARED = ("audit_log", "audit_chain_head", "rollup_state")


def add_batch_people(session, world: World) -> dict[str, int]:
    rows = world.rows
    p0, p1, p2 = rows.partners
    ids: dict[str, int] = {}
    lerato = add_homeowner(
        session, first_name="Lerato", last_name="Dlamini", email="lerato@example.co.za"
    )
    sipho = add_homeowner(session, first_name="Sipho", last_name="Zulu", street="5 Oak Lane")
    held = add_homeowner(session, first_name="Held", legal_hold="Court order 12/2026")
    disputed = add_homeowner(session, first_name="Disputed")
    ids.update(lerato=lerato.id, sipho=sipho.id, held=held.id, disputed=disputed.id)

    l_lead = add_lead(session, rows, homeowner_id=lerato.id, description="Lerato's roof leaks")
    for partner in (p0, p2):
        add_share(session, rows, l_lead, partner)
        session.add(
            LeadEvent(
                lead_id=l_lead.id,
                partner_id=partner.id,
                from_status="created",
                to_status="shared",
                at=l_lead.created_at + timedelta(minutes=5),
                actor="system",
            )
        )
    add_review(session, rows, l_lead, p0, rating=3, comment="Lerato: slow but tidy")
    s_leads = [
        add_lead(session, rows, homeowner_id=sipho.id, description=f"Sipho's job {n}")
        for n in (1, 2)
    ]
    add_share(session, rows, s_leads[0], p1)
    add_review(
        session, rows, s_leads[0], p1, author_side="partner_about_homeowner", comment="Sipho ok"
    )
    h_lead = add_lead(session, rows, homeowner_id=held.id, description="Held's geyser")
    d_lead = add_lead(session, rows, homeowner_id=disputed.id, description="Disputed's wall")
    add_review(session, rows, d_lead, p2, dispute=True, comment="Never finished")
    calls = (
        {"homeowner_id": lerato.id, "notes": "Lerato called about her roof"},
        # on Sipho's record, about Lerato's lead: it belongs to both of them
        {"homeowner_id": sipho.id, "lead_id": l_lead.id, "notes": "Sipho asked for Lerato"},
        {"homeowner_id": held.id, "lead_id": h_lead.id, "notes": "Held called"},
    )
    for n, who in enumerate(calls):
        session.add(
            Interaction(
                channel="call",
                parties="homeowner_staff",
                at=NOW - timedelta(days=10 + n),
                recorded=True,
                recording_ref=f"rec-batch-{n}",
                purpose="service",
                **who,
            )
        )
    for subject_id, purposes in (
        (lerato.id, ("marketing_email", "service_contact")),
        (sipho.id, ("marketing_phone",)),
        (held.id, ("marketing_email",)),
    ):
        for purpose in purposes:
            session.add(
                ConsentEvent(
                    subject_type="homeowner",
                    subject_id=subject_id,
                    purpose=purpose,
                    granted=True,
                    at=NOW - timedelta(days=50),
                    source="web_form",
                    evidence=f"form {subject_id} {purpose}",
                )
            )
    closed = {"status": "completed", "type": "access", "closed_at": NOW - timedelta(days=40)}
    l_request = add_privacy_request(
        session,
        subject_type="homeowner",
        subject_id=lerato.id,
        given_name="Lerato D",
        given_email="lerato.work@example.co.za",
        **closed,
    )
    session.add(PrivacyRequestNote(request_id=l_request.id, at=NOW, text="Lerato phoned"))
    add_privacy_request(  # the email given is Lerato's: one do-not-contact entry for both
        session,
        subject_type="homeowner",
        subject_id=sipho.id,
        given_name="Sipho Zulu",
        given_email="lerato@example.co.za",
        **closed,
    )
    session.flush()
    return ids


#: The batch, in the sweep's order: Thandi, Lerato, Sipho erased; the held and the disputed
#: homeowner refused and untouched.
ORDER = ("subject", "lerato", "sipho", "held", "disputed")


def build(db, monkeypatch) -> tuple[World, list[int], dict[str, int]]:
    """The world, from empty, with the factories' name counter restarted: built twice it is the
    same database, ids and names included."""
    empty_all_tables(db)
    monkeypatch.setattr(factories, "_ids", count(1))
    with session_scope(db) as s:
        world = make_crowded_world(s)
        ids = {"subject": world.subject.id, **add_batch_people(s, world)}
    return world, [ids[k] for k in ORDER], ids


def everything(db) -> dict[str, list[tuple]]:
    with db.connect() as conn:
        return {
            t.name: sorted(tuple(str(v) for v in r) for r in conn.execute(select(t)))
            for t in load_all_models().sorted_tables
            if t.name not in NOT_COMPARED
        }


def receipt_summary(receipt) -> tuple:
    """A receipt without its timing and scan (the batch scans once, the oracle not at all)."""
    return (
        receipt.subject_id,
        receipt.erased_at,
        tuple(t.as_receipt() for t in receipt.tables),
        receipt.suppressions_added,
        receipt.suppressions_existing,
        receipt.recipients,
    )


def one_by_one(db, subject_ids: list[int]) -> dict[int, tuple]:
    receipts = {}
    for subject_id in subject_ids:
        try:
            with session_scope(db) as s:
                receipt = erase_subject(s, "homeowner", subject_id, now=NOW, key=KEY, verify=False)
        except ErasureRefused:
            continue
        receipts[subject_id] = receipt_summary(receipt)
    return receipts


def test_a_batch_leaves_every_table_as_erasing_one_by_one_does(db, monkeypatch):
    _world, subject_ids, _ids = build(db, monkeypatch)
    single = one_by_one(db, subject_ids)
    after_single = everything(db)

    _world, subject_ids, ids = build(db, monkeypatch)
    with session_scope(db) as s:
        batch = erase_subjects(s, "homeowner", subject_ids, now=NOW, key=KEY)
    assert set(batch.refused) == {ids["held"], ids["disputed"]}
    assert batch.scan.clean
    assert {i: receipt_summary(r) for i, r in batch.receipts.items()} == single
    assert everything(db) == after_single


def test_one_batch_erases_what_it_should_per_table(db, monkeypatch):
    world, subject_ids, ids = build(db, monkeypatch)
    others_before = others_rows_of(db, world)
    with session_scope(db) as s:
        erased, skipped, details, residue = _erase_homeowners(s, subject_ids, NOW, KEY)
    assert (erased, skipped, residue) == (3, 2, 0)
    assert details["subjects"] == [ids["subject"], ids["lerato"], ids["sipho"]]
    # per subject (Thandi, Lerato, Sipho), summed: the call shared by Lerato and Sipho counts
    # for each of them, as erasing them one after the other would
    assert details["rows"] == {
        "homeowner": 1 + 1 + 1,
        "lead": 2 + 1 + 2,
        "lead_share": 2 + 2 + 1,
        "lead_event": 0 + 2 + 0,
        "interaction": 1 + 2 + 1,
        "review": 2 + 1 + 1,
        "aggregate_cell": 2 + 1 + 2,
        "consent_event": 3 + 2 + 1,
        "privacy_request": 0 + 1 + 1,
        "privacy_request_note": 0 + 1 + 0,
        "privacy_correction": 0,
        "legal_disclosure": 0,
    }
    with session_scope(db) as s:
        people = {h.id: h for h in s.scalars(select(Homeowner))}
        for key in ("subject", "lerato", "sipho"):
            assert (people[ids[key]].first_name, people[ids[key]].erased_at) == (None, NOW)
        assert (people[ids["held"]].first_name, people[ids["held"]].erased_at) == ("Held", None)
        assert people[ids["disputed"]].first_name == "Disputed"
        events = s.scalars(
            select(ConsentEvent.subject_id).where(ConsentEvent.subject_type == "homeowner")
        )
        assert set(events) == {world.other.id, ids["held"]}  # the other has five
        notes = s.scalars(select(Interaction.notes).where(Interaction.notes.like("%Lerato%")))
        assert list(notes) == []
        assert s.scalar(select(Review.comment).where(Review.dispute.is_(True))) == (
            "Never finished"
        )
        # Thandi 2, Lerato 3 (email, phone, the work address), Sipho 2 new + Lerato's again
        assert len(list(s.scalars(select(Suppression.id)))) == 7
    assert others_rows_of(db, world) == others_before


def others_rows_of(db, world: World) -> dict:
    with db.connect() as conn:
        rows = others_rows(conn, world.others)
    return {k: v for k, v in rows.items() if not k[1].startswith("rollup_")}


def test_statistics_are_the_same_after_a_batch(db, monkeypatch):
    """Lead counts per month, trade and province, partner ratings, and the partner rollups:
    equal before and after, and to a rebuild."""
    _world, subject_ids, _ids = build(db, monkeypatch)
    stats_before = statistics(db)
    rollups_before = rollup_state(db)
    with session_scope(db) as s:
        _erase_homeowners(s, subject_ids, NOW, KEY)
    assert statistics(db) == stats_before
    assert rollup_state(db) == rollups_before
    state = rollup_state(db)
    assert {k: v for k, v in state.items() if k != "rollup_share_partner_preset"} == (
        rebuilt_rollups(db)
    )


@pytest.mark.parametrize("pending_only", [False, True])
def test_a_subject_erased_meanwhile_is_skipped_by_the_sweep_only(db, monkeypatch, pending_only):
    _world, _subject_ids, ids = build(db, monkeypatch)
    with session_scope(db) as s:
        erase_subject(s, "homeowner", ids["lerato"], now=NOW, key=KEY)
    with session_scope(db) as s:
        again = erase_subjects(
            s,
            "homeowner",
            [ids["lerato"], ids["sipho"]],
            now=NOW,
            key=KEY,
            pending_only=pending_only,
        )
    assert again.already == ((ids["lerato"],) if pending_only else ())
    assert set(again.receipts) == (
        {ids["sipho"]} if pending_only else {ids["lerato"], ids["sipho"]}
    )


def test_two_sweeps_at_once_erase_each_homeowner_once(db, monkeypatch):
    """The first sweep's batch is held inside its transaction (in its residue scan) while a
    second sweep's batch starts on the same homeowners: it waits for the lock (the rows' on
    PostgreSQL, the database's on SQLite), then finds them erased and skips them, or finds
    nothing due if it read after the first committed. Each homeowner is erased by exactly one
    batch."""
    _world, subject_ids, ids = build(db, monkeypatch)
    with session_scope(db) as s:
        for homeowner in s.scalars(select(Homeowner).where(Homeowner.id.in_(subject_ids))):
            homeowner.last_activity_at = NOW - timedelta(days=3 * 365)
    paused, release = threading.Event(), threading.Event()
    real_scan = execute.scan

    def held_scan(*args, **kwargs):
        if threading.current_thread().name == "first":
            paused.set()
            release.wait(30)
        return real_scan(*args, **kwargs)

    monkeypatch.setattr(execute, "scan", held_scan)
    outcomes: dict[str, object] = {}

    def sweep_batch() -> None:
        outcomes[threading.current_thread().name] = retention.run_batch(
            db, retention.RULE_BY_CODE["homeowners"], NOW, key=KEY
        )

    first = threading.Thread(target=sweep_batch, name="first")
    first.start()
    assert paused.wait(30)
    second = threading.Thread(target=sweep_batch, name="second")
    second.start()
    second.join(1)  # PostgreSQL: waiting for the lock; SQLite: waiting to write
    release.set()
    first.join(60)
    second.join(60)
    assert outcomes["first"] == (3, 0, 0)  # the held and the disputed homeowner are not due
    assert outcomes["second"] in ((0, 3, 0), None)
    with session_scope(db) as s:
        entries = s.scalars(
            select(AuditLog.details).where(AuditLog.action == "retention.homeowners")
        ).all()
        erased = [i for details in entries for i in details["subjects"]]
        assert sorted(erased) == sorted([ids["subject"], ids["lerato"], ids["sipho"]])
        assert s.scalar(select(Homeowner.first_name).where(Homeowner.id == ids["held"])) == "Held"
