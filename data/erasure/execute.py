"""Erasing one subject: preview, blockers, the one-transaction erasure, proof and receipt.

Why one transaction, and why the request's version
--------------------------------------------------
``docs/domain.md`` §5.8: a crash must leave all or nothing, so every statement of an erasure,
its do-not-contact entries, the request's closing and the audit receipt are written by the
caller's one session transaction (``data.db.session_scope``); killing the process at any point
leaves the database as it was (``tests/unit/test_erasure_kill.py`` does so to a real process,
paused inside the transaction by :data:`PAUSE_ENV`).

Two officers at once: the erasure claims the request the way every privacy transition does
(``UPDATE … SET version = version + 1 WHERE version = :seen``, :func:`begin_transition`); the
second one finds the version moved and is told to reload. The subject's own row is then locked
(``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the database's write lock is taken first), so
two *different* requests or the retention sweep cannot erase one subject concurrently.

One code path for one subject and for a retention batch: :func:`erase_subject` is
:func:`erase_subjects` with one id, which erases set-wise (one statement per table for the
whole batch; ``docs/erasure.md`` "Batches, set-wise").

Twice is harmless: a completed request is refused with a message, and :func:`erase_subject` on
an erased subject clears nothing new (every statement matches the already-empty rows).

Statistics: only identifier and free-text columns change, reviews move to one anonymous
placeholder homeowner, and no share or review row is deleted, so lead counts per month, trade
and province and the partner rollups stay what they were (the rollups are keyed by partner).
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, false, insert, literal, select, update
from sqlalchemy.orm import Session

from data import audit
from data.aggregates.cells import cube_follows
from data.db import session_scope
from data.do_not_contact import suppression_digest, suppression_key
from data.erasure import plan as plans
from data.erasure.recipients import Contact, Recipient, contacts, recipients, recipients_of
from data.erasure.scan import ScanResult, Term, identity_pairs, scan, terms_of
from data.identifiers import normalise
from data.models import Base, Homeowner, PrivacyRequest, Review, Suppression
from data.privacy.workflow import (
    OBJECT_TYPE,
    Actor,
    NotFound,
    TransitionRefused,
    begin_transition,
    require_privacy_role,
)
from data.rollups import DIRECTORY, bump_version
from data.subject_rows import subject_owners
from data.subjects import REGISTRIES
from data.timeutil import utcnow

#: Request types an erasure fulfils (a service opt-out may be carried out as an erasure).
ERASABLE_TYPES = ("erasure", "service_opt_out")
#: ``source_site`` of the one shared placeholder homeowner that erased reviews point at.
PLACEHOLDER_SITE = "erased-placeholder"
#: Test hook: when set to a path, the erasure writes that file once all its statements ran
#: (inside the transaction, before the commit) and waits, so a test can kill the process there.
PAUSE_ENV = "POD_ERASURE_PAUSE_FILE"
AUDIT_ACTION = "privacy_request.erase"


class ErasureRefused(TransitionRefused):
    """The erasure cannot run (blocked, wrong type or state); the message says why."""


class ResidueFound(TransitionRefused):
    """The residue scan found the subject's identifiers after the erasure's statements: the
    erasure is rolled back; the receipt says where (table, column, kind; never a value)."""

    def __init__(self, receipt: Receipt) -> None:
        places = ", ".join(f"{f.table}.{f.column} ({f.kind})" for f in receipt.scan.findings)
        super().__init__(
            f"Nothing was erased: the residue scan would still find the subject in {places}. "
            "Those columns are not covered by the registry (data/subjects.py) or hold another "
            "record's mention of the person; resolve that first."
        )
        self.receipt = receipt


@dataclass(frozen=True)
class Blocker:
    code: str  # "legal_hold" | "open_dispute"
    message: str


@dataclass(frozen=True)
class Preview:
    subject_type: str
    subject_id: int
    tables: tuple[plans.TablePlan, ...]
    blockers: tuple[Blocker, ...]
    identifiers: int  # do-not-contact entries the erasure will make or confirm
    already_erased: bool
    #: Partners that received the subject's details, to be told (names as on record now).
    recipients: tuple[Contact, ...] = ()

    @property
    def ready(self) -> bool:
        return not self.blockers


@dataclass(frozen=True)
class Receipt:
    request_id: int | None
    subject_type: str
    subject_id: int
    erased_at: datetime
    tables: tuple[plans.TablePlan, ...]
    suppressions_added: int
    suppressions_existing: int
    scan: ScanResult
    seconds: float
    recipients: tuple[Recipient, ...] = ()

    def as_details(self) -> dict[str, Any]:
        """The audit entry's details: ids, counts and column names, never values."""
        return {
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "erased_at": self.erased_at.isoformat(),
            "tables": {t.table: t.as_receipt() for t in self.tables},
            "suppressions_added": self.suppressions_added,
            "suppressions_existing": self.suppressions_existing,
            "scan": self.scan.as_receipt(),
            "partners_to_tell": [r.as_receipt() for r in self.recipients],
        }


# --- what to erase ---------------------------------------------------------------------------


def blockers_of(
    session: Session, subject_type: str, subject_ids: Collection[int]
) -> dict[int, tuple[Blocker, ...]]:
    """Per subject: a legal hold, or an open dispute (a review by or about them flagged as
    disputed; resolving it clears the flag); the erasure waits until they are resolved. Two
    queries for a whole batch."""
    profile = Base.metadata.tables[subject_type]
    ids = sorted(set(subject_ids))
    found: dict[int, list[Blocker]] = {i: [] for i in ids}
    holds = session.execute(
        select(profile.c.id, profile.c.legal_hold).where(
            profile.c.id.in_(ids), profile.c.legal_hold.is_not(None)
        )
    )
    for subject_id, hold in holds:
        if hold.strip():
            found[int(subject_id)].append(
                Blocker("legal_hold", "A legal hold is on record: release it first.")
            )
    owners = subject_owners(subject_type, "review", ids).subquery()
    disputed = session.scalars(
        select(owners.c.owner)
        .select_from(owners.join(Review, Review.id == owners.c.id))
        .where(Review.dispute.is_(True))
        .distinct()
    )
    for subject_id in disputed:
        found[int(subject_id)].append(
            Blocker("open_dispute", "A review dispute is still open: resolve it first.")
        )
    return {i: tuple(b) for i, b in found.items()}


def blockers(session: Session, subject_type: str, subject_id: int) -> tuple[Blocker, ...]:
    """What stops this subject's erasure (:func:`blockers_of`)."""
    return blockers_of(session, subject_type, [subject_id])[subject_id]


def identifiers_of(
    session: Session, subject_type: str, subject_ids: Collection[int]
) -> dict[int, list[tuple[str, str]]]:
    """Per subject, in the order given: (kind, stored form) of every email and phone of the
    subject and of their requests."""
    pairs = identity_pairs(session, subject_type, subject_ids)
    out: dict[int, list[tuple[str, str]]] = {}
    for subject_id in dict.fromkeys(subject_ids):
        found: list[tuple[str, str]] = []
        for kind, value in pairs.get(subject_id, []):
            if kind not in ("email", "phone") or not isinstance(value, str) or not value:
                continue
            stored = normalise(kind, value)
            if stored and (kind, stored) not in found:
                found.append((kind, stored))
        out[subject_id] = found
    return out


def identifiers(session: Session, subject_type: str, subject_id: int) -> list[tuple[str, str]]:
    """(kind, stored form) of every email and phone of the subject and of their requests."""
    return identifiers_of(session, subject_type, [subject_id])[subject_id]


def _subject_exists(session: Session, subject_type: str, subject_id: int) -> datetime | None:
    profile = Base.metadata.tables[subject_type]
    row = session.execute(
        select(profile.c.id, profile.c.erased_at).where(profile.c.id == subject_id)
    ).first()
    if row is None:
        raise NotFound(f"There is no {subject_type} #{subject_id}.")
    return row.erased_at


def preview_subject(session: Session, subject_type: str, subject_id: int) -> Preview:
    if subject_type not in REGISTRIES:
        raise NotFound(f"Unknown subject type {subject_type!r}.")
    erased_at = _subject_exists(session, subject_type, subject_id)
    return Preview(
        subject_type,
        subject_id,
        plans.plan_tables(session, subject_type, subject_id),
        blockers(session, subject_type, subject_id),
        len(identifiers(session, subject_type, subject_id)),
        erased_at is not None,
        tuple(
            contacts(
                session,
                [r.as_receipt() for r in recipients(session, subject_type, subject_id)],
            )
        ),
    )


def request_refusal(req: PrivacyRequest) -> str | None:
    """Why this request cannot be carried out as an erasure, or None."""
    if req.type not in ERASABLE_TYPES:
        return "Only erasure and service opt-out requests are carried out as an erasure."
    if req.status == "completed" and req.type == "erasure":
        return "This erasure was already carried out; its receipt is on the request."
    if req.status != "in_progress" or req.verification_outcome != "verified":
        if req.status in ("received", "verifying"):
            return "Verify the requester's identity first."
        return f"The request is closed ({req.status})."
    if req.no_record_found or req.subject_type is None or req.subject_id is None:
        return "No subject is matched: there is nobody to erase."
    return None


def load_request(session: Session, request_id: int) -> PrivacyRequest:
    req = session.get(PrivacyRequest, request_id, populate_existing=True)
    if req is None:
        raise NotFound(f"There is no privacy request #{request_id}.")
    return req


def preview_request(session: Session, request_id: int) -> Preview:
    """The preview of a request's erasure; refuses a request that cannot be erased."""
    req = load_request(session, request_id)
    reason = request_refusal(req)
    if reason is not None:
        raise ErasureRefused(reason)
    assert req.subject_type is not None and req.subject_id is not None
    return preview_subject(session, req.subject_type, req.subject_id)


# --- doing it --------------------------------------------------------------------------------


def placeholder_homeowner(session: Session, now: datetime) -> int:
    """The one shared anonymous homeowner erased reviews point at (made on first use). The
    site is written into the query, not bound, so SQLite's planner can prove the partial index
    ``ix_homeowner_placeholder`` applies."""
    site = literal(PLACEHOLDER_SITE, literal_execute=True)
    found = session.scalar(
        select(Homeowner.id).where(Homeowner.source_site == site).order_by(Homeowner.id)
    )
    if found is not None:
        return found
    row = Homeowner(source_site=PLACEHOLDER_SITE, created_at=now, last_activity_at=now)
    row.erased_at = now
    session.add(row)
    session.flush()
    return row.id


def _lock_subjects(
    session: Session, subject_type: str, subject_ids: list[int]
) -> dict[int, datetime | None]:
    """Lock the subjects' rows in id order (``FOR UPDATE`` on PostgreSQL, so two erasures of
    one subject run one after the other and two sweeps cannot deadlock) and return each one's
    ``erased_at`` as it is once the lock is held. SQLite locks the whole database for a writer,
    but only from its first write: an UPDATE of no row takes that lock first, so what is read
    next is what the erasure writes over (a second sweep waits, then finds the rows erased)."""
    profile = Base.metadata.tables[subject_type]
    if session.get_bind().dialect.name == "sqlite":
        session.connection().execute(update(profile).where(false()).values(id=profile.c.id))
    rows = session.execute(
        select(profile.c.id, profile.c.erased_at)
        .where(profile.c.id.in_(sorted(subject_ids)))
        .order_by(profile.c.id)
        .with_for_update()
    )
    found = {int(i): erased_at for i, erased_at in rows}
    for subject_id in subject_ids:
        if subject_id not in found:
            raise NotFound(f"There is no {subject_type} #{subject_id}.")
    return found


def _suppress(
    session: Session, pairs: dict[int, list[tuple[str, str]]], now: datetime, key: bytes | None
) -> dict[int, tuple[int, int]]:
    """Do-not-contact entries for every subject's identifiers, one query for those already
    listed and one multi-row insert; per subject (added, already there), counted in the order
    given, as erasing them one after the other would."""
    secret = key or suppression_key()
    digests = {
        subject_id: [(kind, suppression_digest(kind, stored, secret)) for kind, stored in found]
        for subject_id, found in pairs.items()
    }
    wanted = sorted({d for found in digests.values() for _, d in found})
    listed = (
        set(session.scalars(select(Suppression.digest).where(Suppression.digest.in_(wanted))))
        if wanted
        else set()
    )
    rows: list[dict[str, Any]] = []
    out: dict[int, tuple[int, int]] = {}
    for subject_id, found in digests.items():
        added = existing = 0
        for kind, digest in found:
            if digest in listed:
                existing += 1
                continue
            listed.add(digest)
            rows.append({"kind": kind, "digest": digest, "reason": "erasure", "created_at": now})
            added += 1
        out[subject_id] = (added, existing)
    if rows:
        session.execute(insert(Suppression), rows)
    return out


def _pause_for_tests() -> None:
    target = os.environ.get(PAUSE_ENV)
    if not target:
        return
    Path(target).write_text(str(os.getpid()))
    time.sleep(float(os.environ.get("POD_ERASURE_PAUSE_SECONDS", "120")))


@dataclass(frozen=True)
class Erasure:
    """A batch erasure: a receipt per subject erased, the subjects left as they were."""

    receipts: dict[int, Receipt]
    refused: dict[int, tuple[Blocker, ...]]  # blocked: nothing of theirs was touched
    already: tuple[int, ...]  # erased before (skipped with ``pending_only``)
    scan: ScanResult


def erase_subjects(
    session: Session,
    subject_type: str,
    subject_ids: list[int],
    *,
    now: datetime | None = None,
    key: bytes | None = None,
    request_id: int | None = None,
    verify: bool = True,
    pending_only: bool = False,
) -> Erasure:
    """Erase several subjects of one type set-wise in the caller's transaction: one statement
    per table for all of them (and one grouped count per table for their receipts), their
    blockers, identifiers, partners to tell and scan terms read with one query each, the
    do-not-contact entries in one insert, one residue scan over all their identifiers. The
    upkeep hooks (consent rollup, contact digests, word indexes and vocabularies) see each
    statement once, with the whole batch.

    A blocked subject is skipped (``refused``), as is, with ``pending_only`` (the retention
    sweep's), one already erased once its row is locked (another sweep got there first). No
    audit entry: the caller records the receipts under its own object. ``verify=False`` leaves
    the residue scan to the caller."""
    started = time.perf_counter()
    now = now or utcnow()
    ids = list(dict.fromkeys(subject_ids))
    erased_at = _lock_subjects(session, subject_type, ids)
    already = tuple(i for i in ids if pending_only and erased_at[i] is not None)
    found = blockers_of(session, subject_type, [i for i in ids if i not in already])
    refused = {i: b for i, b in found.items() if b}
    chosen = [i for i in ids if i not in refused and i not in already]
    terms: dict[int, tuple[Term, ...]] = {}
    told: dict[int, tuple[Recipient, ...]] = {}
    suppressed: dict[int, tuple[int, int]] = {}
    done: list[dict[int, plans.TablePlan]] = []
    if chosen:
        terms = terms_of(session, subject_type, chosen)
        told = recipients_of(session, subject_type, chosen)
        suppressed = _suppress(session, identifiers_of(session, subject_type, chosen), now, key)
        registry = REGISTRIES[subject_type]
        placeholder = placeholder_homeowner(session, now) if subject_type == "homeowner" else None
        # the aggregates' cube counted homeowners under the birth year, gender and property
        # type this clears from their aggregate_cell rows: it follows in this transaction
        homeowners = chosen if subject_type == "homeowner" else []
        with cube_follows(session.connection(), homeowners):
            for entry in registry.tables:
                extra = {"erased_at": now} if entry.table == registry.subject_table else None
                done.append(
                    plans.apply_table(
                        session,
                        subject_type,
                        entry,
                        chosen,
                        placeholder_id=placeholder,
                        extra=extra,
                    )
                )
        if subject_type == "partner":  # cached directories and rankings carry partner names
            connection = session.connection()
            bump_version(connection, DIRECTORY)
            bump_version(connection)
        session.flush()
    searched = tuple({t.value: t for i in chosen for t in terms[i]}.values())
    kinds = tuple(sorted({t.kind for t in searched}))
    result = (
        scan(session, subject_type, chosen[0] if len(chosen) == 1 else 0, searched)
        if verify
        else ScanResult(0, 0, kinds)
    )
    seconds = time.perf_counter() - started
    receipts = {
        i: Receipt(
            request_id,
            subject_type,
            i,
            now,
            tuple(table[i] for table in done),
            *suppressed[i],
            result,
            seconds,
            told[i],
        )
        for i in chosen
    }
    return Erasure(receipts, refused, already, result)


def erase_subject(
    session: Session,
    subject_type: str,
    subject_id: int,
    *,
    now: datetime | None = None,
    key: bytes | None = None,
    request_id: int | None = None,
    verify: bool = True,
) -> Receipt:
    """Erase one subject in the caller's transaction (:func:`erase_subjects` with one id);
    refuses when blocked. Erasing an erased subject again clears nothing new."""
    if subject_type not in REGISTRIES:
        raise NotFound(f"Unknown subject type {subject_type!r}.")
    erasure = erase_subjects(
        session, subject_type, [subject_id], now=now, key=key, request_id=request_id, verify=verify
    )
    if subject_id in erasure.refused:
        raise ErasureRefused(" ".join(b.message for b in erasure.refused[subject_id]))
    return erasure.receipts[subject_id]


def erase_request(
    session: Session,
    request_id: int,
    version: object,
    actor: Actor,
    *,
    now: datetime | None = None,
    key: bytes | None = None,
) -> Receipt:
    """Carry out a verified erasure (or service opt-out) request: claim it at the version the
    officer saw, erase its subject, close it keeping type, dates and outcome, audit the receipt.

    With residue found by the scan, :class:`ResidueFound` is raised and the caller's transaction
    rolls the whole erasure back: committing it would lose the identifiers the next scan needs,
    so a second run could not prove anything. :func:`carry_out` also audits the finding."""
    now = now or utcnow()
    require_privacy_role(actor)
    req = load_request(session, request_id)
    reason = request_refusal(req)
    if reason is not None:
        raise ErasureRefused(reason)
    # The claim (role check, version bump, stale/not-found) is every transition's; "note" is
    # passed because it has no state rule of its own: the erasure's rule is request_refusal.
    req = begin_transition(session, request_id, version, actor, "note", now)
    reason = request_refusal(req)  # re-read under the claim: another officer may have acted
    if reason is not None:
        raise ErasureRefused(reason)
    assert req.subject_type is not None and req.subject_id is not None
    receipt = erase_subject(
        session, req.subject_type, req.subject_id, now=now, key=key, request_id=request_id
    )
    if not receipt.scan.clean:
        raise ResidueFound(receipt)  # the caller's transaction rolls everything back
    session.refresh(req)
    req.status = "completed"
    req.closed_at = now
    session.flush()
    _pause_for_tests()
    audit.record(
        session,
        actor.username,
        AUDIT_ACTION,
        OBJECT_TYPE,
        req.id,
        {"status": req.status, "version": req.version, **receipt.as_details()},
        at=now,
    )
    return receipt


def carry_out(
    request_id: int,
    version: object,
    actor: Actor,
    *,
    engine: Engine | None = None,
    now: datetime | None = None,
    key: bytes | None = None,
) -> Receipt:
    """:func:`erase_request` in its own transaction, as the page and the command line run it;
    a :class:`ResidueFound` is audited (``privacy_request.erase.residue``) once the erasure has
    been rolled back, then raised again."""
    try:
        with session_scope(engine) as session:
            return erase_request(session, request_id, version, actor, now=now, key=key)
    except ResidueFound as exc:
        with session_scope(engine) as session:
            details = {"scan": exc.receipt.scan.as_receipt(), "version": version}
            audit.record(
                session, actor.username, f"{AUDIT_ACTION}.residue", OBJECT_TYPE, request_id, details
            )
        raise


def receipt_of(session: Session, request_id: int) -> dict[str, Any] | None:
    """The latest erasure receipt of a request (from the audit log), or None; its partners to
    tell come with their names and contact details as on record now (``contacts``)."""
    from data.models import AuditLog

    details = session.scalar(
        select(AuditLog.details)
        .where(
            AuditLog.object_type == OBJECT_TYPE,
            AuditLog.object_id == str(request_id),
            AuditLog.action == AUDIT_ACTION,
        )
        .order_by(AuditLog.id.desc())
        .limit(1)
    )
    if not details:
        return details
    told = contacts(session, list(details.get("partners_to_tell", [])))
    return {**details, "partners_to_tell": told}
