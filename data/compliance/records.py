"""Compliance rules about the records themselves: kept too long, re-imported, left unanswered.

* :func:`past_retention` — rows the retention sweep would act on now (homeowners past the
  period after their last activity, call recordings, unverified requests, identifiers in closed
  requests): the sweep's own condition (:func:`data.erasure.retention.due_rows`) with the
  periods in force, so the monitor and the sweep cannot disagree. ``at`` is the instant the
  row's clock runs from (last activity, the call, the request's receipt or closing).
* :func:`suppressed_reappearing` — homeowners created in the window whose email or phone
  matches a do-not-contact entry made before they were created (the keyed digest of
  :mod:`data.do_not_contact`, so people erased earlier are found too).
* :func:`access_past_due` — open access requests whose due day has passed: deemed refusals
  (:func:`data.privacy.clock.is_deemed_refusal`, in SQL: due before today's South African
  midnight). ``at`` is the due instant.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Select, case, literal, select, union_all
from sqlalchemy.orm import Session

from data.compliance.common import Window, text
from data.do_not_contact import stored_form_digest
from data.erasure import retention
from data.models import Homeowner, Interaction, PrivacyRequest, Suppression
from data.privacy.clock import OPEN_STATUSES
from data.sqlfuncs import tuples_of
from data.timeutil import sa_date, start_of

_RETENTION_OBJECTS = {
    "homeowners": ("homeowner", Homeowner),
    "recordings": ("interaction", Interaction),
    "unverified": ("privacy_request", PrivacyRequest),
    "closed_requests": ("privacy_request", PrivacyRequest),
}


def past_retention(w: Window, periods: dict[str, int]) -> Select:
    """``periods``: rule code → period (``retention.periods(session)``)."""
    parts = []
    for rule in retention.RULES:
        object_type, model = _RETENTION_OBJECTS[rule.code]
        limit = retention.cutoff(rule, periods[rule.code], w.now)
        id_column, condition, when = retention.due_rows(rule, limit)
        if model is Homeowner:
            subject_type, subject_id = text("homeowner"), Homeowner.id
        elif model is Interaction:
            subject_type, subject_id = text("homeowner"), Interaction.homeowner_id
        else:
            subject_type, subject_id = PrivacyRequest.subject_type, PrivacyRequest.subject_id
        parts.append(
            select(
                when.label("at"),
                subject_type.label("subject_type"),
                subject_id.label("subject_id"),
                text(object_type).label("object_type"),
                id_column.label("object_id"),
                text(rule.code).label("detail"),
            ).where(condition)
        )
    merged = union_all(*parts).subquery("past_retention")
    return select(*merged.c)


def suppressed_reappearing(conn: Connection | Session, w: Window, key: bytes) -> Select:
    """Matching runs in Python (an HMAC has no SQL form) over the homeowners created in the
    window and the do-not-contact entries; the result is a ``Select`` of the matches."""
    entries = {
        digest: (reason, created)
        for digest, reason, created in conn.execute(
            select(Suppression.digest, Suppression.reason, Suppression.created_at)
        )
    }
    newcomers = tuples_of(
        conn.execute(
            select(Homeowner.id, Homeowner.email, Homeowner.phone).where(
                Homeowner.created_at >= w.start_at,
                Homeowner.created_at < w.end_before,
                Homeowner.erased_at.is_(None),
            )
        )
    )
    hits: dict[int, list[tuple[str, datetime]]] = {}
    for homeowner_id, email, phone in newcomers:
        for kind, value in (("email", email), ("phone", phone)):
            if value:
                hit = entries.get(stored_form_digest(kind, value, key))
                if hit is not None:
                    hits.setdefault(int(homeowner_id), []).append(hit)
    matched: dict[int, str] = {}
    if hits:  # only entries made before the homeowner was created count (few rows to check)
        created = dict(
            conn.execute(
                select(Homeowner.id, Homeowner.created_at).where(Homeowner.id.in_(sorted(hits)))
            ).all()
        )
        for homeowner_id, found in hits.items():
            before = [reason for reason, at in found if at < created[homeowner_id]]
            if before:
                matched[homeowner_id] = "erased_earlier" if "erasure" in before else "opted_out"
    erased = [h for h, reason in matched.items() if reason == "erased_earlier"]
    detail = case((Homeowner.id.in_(erased), "erased_earlier"), else_="opted_out")
    return select(
        Homeowner.created_at.label("at"),
        text("homeowner").label("subject_type"),
        Homeowner.id.label("subject_id"),
        text("homeowner").label("object_type"),
        Homeowner.id.label("object_id"),
        detail.label("detail") if erased else text("opted_out").label("detail"),
    ).where(Homeowner.id.in_(sorted(matched)) if matched else literal(False))


def access_past_due(w: Window) -> Select:
    today_starts = start_of(sa_date(w.now))
    return select(
        PrivacyRequest.due_at.label("at"),
        PrivacyRequest.subject_type.label("subject_type"),
        PrivacyRequest.subject_id.label("subject_id"),
        text("privacy_request").label("object_type"),
        PrivacyRequest.id.label("object_id"),
        PrivacyRequest.status.label("detail"),
    ).where(
        PrivacyRequest.type == "access",
        PrivacyRequest.status.in_(OPEN_STATUSES),
        PrivacyRequest.due_at < today_starts,
    )
