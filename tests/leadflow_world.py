"""A small hand-built world for the lead-flow tests; every expected number in
``tests/unit/test_leadflow.py`` is worked out by hand from the table below.

Period under test: 2 – 15 March 2026 (14 South African days, Monday to Sunday); previous
period: 16 Feb – 1 Mar. Times are UTC; South African days are UTC+2. Partners P1, P2 vetted,
P3 prospective. Minutes are counted from the lead's creation.

Per lead: created (UTC), trade, province, channel, source site; then what happens.

* L0: 20 Feb 08:00, plumbing, Gauteng, organic, main (previous period). Shared 10, contacted
  20, hired 2880, completed 7200.
* L1: 2 Mar 08:00, plumbing, Gauteng, organic, main. Never shared (open, "created").
* L2: 3 Mar 08:00, plumbing, Gauteng, organic, main. Shared to P1 at 10, P2 at 30, P3
  (prospective) at 120; P2 contacts at 45, P1 at 180; P1 quotes at 1440, P2 at 2880; P2 hired
  at 4320, completes at 14400; homeowner review at 17280.
* L3: 4 Mar 08:00, electrical, Western Cape, paid_search, sub. Shared 60, contacted 1200,
  quoted 2880, then cancelled ("closed" at 4320); its events written out of order, with
  wrong ``from`` statuses.
* L4: 9 Mar 08:00, plumbing, Western Cape, paid_search, main. Shared 5, contacted 1800;
  quoted at 35 days and hired at 40 (outside the 30-day window).
* L5: 14 Mar 23:00 UTC, which is 15 Mar in South Africa; electrical, Gauteng, organic, sub.
  Shared 5, contacted 50.

``sub`` is the source site ``geyserhelp.co.za``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine

from data.db import session_scope
from data.models import Lead, LeadEvent, Partner, ServiceType, Trade
from tests.factories import add_homeowner, add_partner, add_review

PERIOD = (date(2026, 3, 2), date(2026, 3, 15))
SUB = "geyserhelp.co.za"


@dataclass
class World:
    plumbing: int
    electrical: int
    service: int
    partners: dict[str, int]
    leads: dict[str, int]


def _minutes(base: datetime, minutes: float | None) -> datetime | None:
    return None if minutes is None else base + timedelta(minutes=minutes)


def build_world(engine: Engine) -> World:
    with session_scope(engine) as s:
        plumbing = Trade(code="plumbing", name="Plumbing")
        electrical = Trade(code="electrical", name="Electrical")
        service = ServiceType(code="quotation", name="Quotation")
        s.add_all([plumbing, electrical, service])
        s.flush()
        main = add_homeowner(s, source_site="main")
        sub = add_homeowner(s, source_site=SUB)
        p1 = add_partner(s, business_name="P1 Plumbing")
        p2 = add_partner(s, business_name="P2 Pipes")
        p3 = add_partner(s, business_name="P3 Prospects", vetting_status="prospective")
        partners: dict[str, Partner] = {"P1": p1, "P2": p2, "P3": p3}

        def lead(
            name: str,
            at: datetime,
            trade: Trade,
            province: str,
            channel: str,
            homeowner: object,
            status: str,
        ) -> Lead:
            row = Lead(
                homeowner_id=homeowner.id,  # type: ignore[attr-defined]
                trade_id=trade.id,
                service_type_id=service.id,
                province=province,
                city="Somewhere",
                channel=channel,
                created_at=at,
                status=status,
            )
            s.add(row)
            s.flush()
            return row

        def share(
            row: Lead,
            partner: Partner,
            shared: float,
            contact: float | None = None,
            quote: float | None = None,
            hire: float | None = None,
            done: float | None = None,
            prospective: bool = False,
        ) -> None:
            from data.models import LeadShare

            t0 = row.created_at
            s.add(
                LeadShare(
                    lead_id=row.id,
                    partner_id=partner.id,
                    trade_id=row.trade_id,
                    province=row.province,
                    shared_at=_minutes(t0, shared),
                    first_contact_at=_minutes(t0, contact),
                    quoted_at=_minutes(t0, quote),
                    hired_at=_minutes(t0, hire),
                    completed_at=_minutes(t0, done),
                    partner_was_prospective=prospective,
                )
            )

        def events(row: Lead, steps: list[tuple[str, float]], *, bad_from: bool = False) -> None:
            """Events in the order given; ``from`` is the previous one's ``to`` in that order
            (or nonsense with ``bad_from``): the code must order by time."""
            previous: str | None = None
            for status, minutes in steps:
                s.add(
                    LeadEvent(
                        lead_id=row.id,
                        from_status="reviewed" if bad_from else previous,
                        to_status=status,
                        at=_minutes(row.created_at, minutes),
                        actor="system",
                    )
                )
                previous = status
            s.flush()

        gp, wc = "Gauteng", "Western Cape"
        l0 = lead("L0", datetime(2026, 2, 20, 8), plumbing, gp, "organic", main, "completed")
        share(l0, p1, 10, 20, 1000, 2880, 7200)
        events(
            l0,
            [
                ("created", 0),
                ("shared", 10),
                ("contacted", 20),
                ("quoted", 1000),
                ("hired", 2880),
                ("completed", 7200),
            ],
        )

        l1 = lead("L1", datetime(2026, 3, 2, 8), plumbing, gp, "organic", main, "created")
        events(l1, [("created", 0)])

        l2 = lead("L2", datetime(2026, 3, 3, 8), plumbing, gp, "organic", main, "reviewed")
        share(l2, p1, 10, 180, 1440)
        share(l2, p2, 30, 45, 2880, 4320, 14400)
        share(l2, p3, 120, prospective=True)
        events(
            l2,
            [
                ("created", 0),
                ("shared", 10),
                ("contacted", 45),
                ("quoted", 1440),
                ("hired", 4320),
                ("completed", 14400),
                ("reviewed", 17280),
            ],
        )
        add_review(s, _Rows(p2), l2, p2, created_at=_minutes(l2.created_at, 17280))

        l3 = lead("L3", datetime(2026, 3, 4, 8), electrical, wc, "paid_search", sub, "closed")
        share(l3, p1, 60, 1200, 2880)
        events(
            l3,
            [
                ("closed", 4320),
                ("quoted", 2880),
                ("created", 0),
                ("contacted", 1200),
                ("shared", 60),
            ],
            bad_from=True,
        )

        l4 = lead("L4", datetime(2026, 3, 9, 8), plumbing, wc, "paid_search", main, "contacted")
        share(l4, p2, 5, 1800, 35 * 1440, 40 * 1440)
        events(l4, [("created", 0), ("shared", 5), ("contacted", 1800)])

        l5 = lead("L5", datetime(2026, 3, 14, 23), electrical, gp, "organic", sub, "contacted")
        share(l5, p1, 5, 50)
        events(l5, [("created", 0), ("shared", 5), ("contacted", 50)])
        s.flush()
        return World(
            plumbing=plumbing.id,
            electrical=electrical.id,
            service=service.id,
            partners={k: v.id for k, v in partners.items()},
            leads={"L0": l0.id, "L1": l1.id, "L2": l2.id, "L3": l3.id, "L4": l4.id, "L5": l5.id},
        )


@dataclass
class _Rows:
    """The one field of ``tests.factories.BaseRows`` that ``add_review`` reads."""

    partner: Partner

    @property
    def partners(self) -> list[Partner]:
        return [self.partner]
