"""Compliance rules about the records themselves: kept too long, re-imported, left unanswered.

* :func:`past_retention` — rows the retention sweep would act on now (homeowners past the
  period after their last activity, call recordings, unverified requests, identifiers in closed
  requests): the sweep's own condition (:func:`data.erasure.retention.due_rows`) with the
  periods in force, so the monitor and the sweep cannot disagree. ``at`` is the instant the
  row's clock runs from (last activity, the call, the request's receipt or closing).
* :func:`suppressed_reappearing` — homeowners created in the window whose email or phone
  matches a do-not-contact entry made before they were created (the keyed digest of
  :mod:`data.do_not_contact`, stored on each homeowner by :mod:`data.consent.digests`, so
  people erased earlier are found too).
* :func:`access_past_due` — open access requests whose due day has passed: deemed refusals
  (:func:`data.privacy.clock.is_deemed_refusal`, in SQL: due before today's South African
  midnight). ``at`` is the due instant.
"""

from __future__ import annotations

from sqlalchemy import Select, case, func, select, union_all

from data.compliance.common import Window, text
from data.erasure import retention
from data.models import Homeowner, Interaction, PrivacyRequest, Suppression
from data.privacy.clock import OPEN_STATUSES
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


def suppressed_reappearing(w: Window) -> Select:
    """Every homeowner carrying a digest on the list (``homeowner.email_digest`` /
    ``phone_digest``, kept by :mod:`data.consent.digests`; a few thousand), found by walking
    the list through the digest indexes, then those created in the window after the entry.
    The look-up is a ``MATERIALIZED`` CTE so that neither database starts from the homeowners
    created in the window instead (SQLite took 3 s through its index of those not erased,
    PostgreSQL 0.4–0.5 s through the 139 000 created in 90 days, at 1M leads)."""
    candidates = (
        union_all(
            *(
                select(
                    Homeowner.id.label("homeowner_id"),
                    Homeowner.created_at.label("created_at"),
                    Homeowner.erased_at.label("erased_at"),
                    stored.label("digest"),
                ).where(stored.in_(select(Suppression.digest).where(Suppression.kind == kind)))
                for kind, stored in (
                    ("email", Homeowner.email_digest),
                    ("phone", Homeowner.phone_digest),
                )
            )
        )
        .cte("suppressed_candidates")
        .prefix_with("MATERIALIZED")
    )
    erased = func.max(case((Suppression.reason == "erasure", 1), else_=0))
    return (
        select(
            func.min(candidates.c.created_at).label("at"),
            text("homeowner").label("subject_type"),
            candidates.c.homeowner_id.label("subject_id"),
            text("homeowner").label("object_type"),
            candidates.c.homeowner_id.label("object_id"),
            case((erased == 1, "erased_earlier"), else_="opted_out").label("detail"),
        )
        .join(Suppression, Suppression.digest == candidates.c.digest)
        .where(
            candidates.c.created_at >= w.start_at,
            candidates.c.created_at < w.end_before,
            candidates.c.erased_at.is_(None),
            Suppression.created_at < candidates.c.created_at,  # listed before they came
        )
        .group_by(candidates.c.homeowner_id)
    )


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
