"""The privacy desk's reads (``data/privacy``, ``data/audit_queries``): the queue and its
summary, subject matching at intake, the request page, an access package and the audit log.

Writes are not benchmarked (they touch one request); the access package and the request page
run read-only inside a transaction that is rolled back.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from benchmarks.cases import BenchContext, Case
from data.audit_queries import AuditFilters, audit_entries
from data.models import Homeowner, PrivacyRequest
from data.privacy import access_package
from data.privacy.intake import find_candidates
from data.privacy.queue import QueueFilters, queue_summary, request_queue
from data.privacy.request_view import load_request_view
from data.privacy.workflow import Actor

BENCH_ACTOR = Actor(1, "bench", "admin")


def _with_conn(ctx: BenchContext, function, *args: Any, **kwargs: Any):
    def run() -> Any:
        with ctx.engine.connect() as conn:
            return function(conn, *args, **kwargs)

    return run


def _with_session(ctx: BenchContext, function, *args: Any):
    def run() -> Any:
        with Session(ctx.engine) as session:
            try:
                return function(session, *args)
            finally:
                session.rollback()

    return run


def cases(ctx: BenchContext) -> list[Case]:
    with Session(ctx.engine) as session:
        sample = session.execute(
            select(Homeowner.first_name, Homeowner.last_name, Homeowner.email, Homeowner.phone)
            .where(Homeowner.erased_at.is_(None), Homeowner.phone.is_not(None))
            .order_by(Homeowner.id.desc())
            .limit(1)
        ).first()
        access = session.scalar(
            select(PrivacyRequest.id)
            .where(
                PrivacyRequest.type == "access",
                PrivacyRequest.verification_outcome == "verified",
                PrivacyRequest.subject_type == "homeowner",
            )
            .limit(1)
        )
        any_request = session.scalar(select(PrivacyRequest.id).limit(1))
    out = [
        Case("privacy.queue_summary", "default", _with_conn(ctx, queue_summary, ctx.as_of)),
        Case(
            "privacy.request_queue",
            "default (open)",
            _with_conn(ctx, request_queue, QueueFilters(), ctx.as_of),
        ),
        Case(
            "privacy.request_queue",
            "all statuses",
            _with_conn(ctx, request_queue, QueueFilters(status="all"), ctx.as_of),
        ),
        Case(
            "audit.entries",
            "last 30 days",
            _with_conn(ctx, audit_entries, AuditFilters(ctx.as_of - timedelta(days=29), ctx.as_of)),
        ),
    ]
    if sample is not None:
        name = f"{sample[0] or ''} {sample[1] or ''}".strip()
        out.append(
            Case(
                "privacy.find_candidates",
                "email + phone + name",
                _with_conn(ctx, _candidates, name, sample[2], sample[3]),
            )
        )
    if any_request is not None:
        out.append(
            Case(
                "privacy.load_request_view",
                "one request",
                _with_session(ctx, load_request_view, any_request),
            )
        )
    if access is not None:
        out.append(
            Case(
                "privacy.build_access_package",
                "one verified request",
                _with_session(ctx, access_package.build_package, access, BENCH_ACTOR),
            )
        )
    return out


def _candidates(conn, name: str, email: str | None, phone: str | None):
    return find_candidates(conn, name=name, email=email, phone=phone)
