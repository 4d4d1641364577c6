"""A small hand-built world for partner-performance tests; every expected number in the tests
is computed by hand from the rows below.

Period under test: March 2026 (31 days); previous period: 29 Jan – 28 Feb 2026.

=========  ==========  ===========  ========  ======================================================
partner    status      trade        province  what happens
=========  ==========  ===========  ========  ======================================================
Alpha      vetted      plumbing     Gauteng   4 shares in March (see below); 5 published March
                                              reviews 5,5,4,4,4 (R 4.4) + 1 hidden disputed review;
                                              Feb: 2 reviews 3,3 (trend +1.4)
Bravo      vetted      plumbing     W Cape    2 shares (both contacted in 10 min, accepted);
                                              5 March reviews 5,4,5,4,4 (R 4.4): ties with Alpha
Charlie    prospective electrical   Gauteng   nothing at all (no leads, no reviews)
Delta      vetted      electrical   Gauteng   1 share contacted exactly 60 min later; a single
                                              review (2 stars) in March
Echo       suspended   plumbing     Gauteng   3 shares, never contacted (0 % in 24 h); no reviews
Foxtrot    vetted      plumbing     Gauteng   6 reviews (2 stars) in Dec 2025, none in March
Golf       offboarded  plumbing     Gauteng   2 March reviews (1 star): new
Hotel      vetted      plumbing     Gauteng   5 March reviews 3,3,3,3,4 (R 3.2): at risk (rating)
=========  ==========  ===========  ========  ======================================================

Alpha's March shares: (1) 2 Mar, accepted, contacted after 30 min, quoted, hired, completed,
reviewed (the 5-star review); (2) 5 Mar, accepted, contacted after 120 min, quoted, hired;
(3) 10 Mar, declined, contacted after 2 days (2880 min); (4) 20 Mar, no response, never
contacted. Alpha also received, while prospective, one lead in January.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine

from data.db import session_scope
from data.models import Homeowner, Lead, Partner, PartnerArea, PartnerTrade, ServiceType, Trade
from tests.factories import add_homeowner, add_lead, add_partner, add_review, add_share

MARCH = (date(2026, 3, 1), date(2026, 3, 31))


@dataclass
class World:
    plumbing: int
    electrical: int
    ids: dict[str, int]
    homeowner: int


class _Rows:
    """The minimal object tests.factories expects (trade, service, homeowner)."""

    def __init__(self, trade: Trade, service: ServiceType, homeowner: Homeowner) -> None:
        self.trade = trade
        self.service = service
        self.homeowner = homeowner
        self.partners: list[Partner] = []


def _at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour)


def build_world(engine: Engine) -> World:
    with session_scope(engine) as s:
        plumbing = Trade(code="plumbing", name="Plumbing")
        electrical = Trade(code="electrical", name="Electrical")
        service = ServiceType(code="quotation", name="Quotation")
        s.add_all([plumbing, electrical, service])
        s.flush()
        homeowner = add_homeowner(
            s, first_name="Thandi", last_name="Nkosi", suburb="Sandton", email="t@example.co.za"
        )
        plumb = _Rows(plumbing, service, homeowner)
        elec = _Rows(electrical, service, homeowner)

        def partner(name: str, status: str, trade: Trade, province: str) -> Partner:
            p = add_partner(
                s,
                business_name=name,
                vetting_status=status,
                payment_token="tok_secret_123",
                payment_last4="4242",
                contact_name=f"{name} Owner",
            )
            s.add(PartnerTrade(partner_id=p.id, trade_id=trade.id))
            s.add(PartnerArea(partner_id=p.id, province=province))
            return p

        alpha = partner("Alpha Plumbing", "vetted", plumbing, "Gauteng")
        bravo = partner("Bravo Plumbing", "vetted", plumbing, "Western Cape")
        charlie = partner("Charlie Electric", "prospective", electrical, "Gauteng")
        delta = partner("Delta Sparks", "vetted", electrical, "Gauteng")
        echo = partner("Echo Drains", "suspended", plumbing, "Gauteng")
        foxtrot = partner("Foxtrot Pipes", "vetted", plumbing, "Gauteng")
        golf = partner("Golf Geysers", "offboarded", plumbing, "Gauteng")
        hotel = partner("Hotel Handyman", "vetted", plumbing, "Gauteng")
        s.flush()

        def lead(rows: _Rows, day: date, province: str = "Gauteng") -> Lead:
            return add_lead(s, rows, created_at=_at(day), province=province, suburb="Sandton")

        def review(rows: _Rows, who: Partner, day: date, rating: int, **kw) -> None:
            target = kw.pop("lead", None) or lead(rows, day - timedelta(days=20))
            add_review(s, rows, target, who, rating=rating, created_at=_at(day, 15), **kw)

        # Alpha: four March shares
        l1 = lead(plumb, date(2026, 3, 2))
        add_share(
            s,
            plumb,
            l1,
            alpha,
            shared_at=_at(date(2026, 3, 2)),
            response="accepted",
            first_contact_at=_at(date(2026, 3, 2)) + timedelta(minutes=30),
            quoted_at=_at(date(2026, 3, 3)),
            hired_at=_at(date(2026, 3, 4)),
            completed_at=_at(date(2026, 3, 8)),
            outcome="won",
        )
        l2 = lead(plumb, date(2026, 3, 5))
        add_share(
            s,
            plumb,
            l2,
            alpha,
            shared_at=_at(date(2026, 3, 5)),
            response="accepted",
            first_contact_at=_at(date(2026, 3, 5)) + timedelta(minutes=120),
            quoted_at=_at(date(2026, 3, 6)),
            hired_at=_at(date(2026, 3, 7)),
            outcome="won",
        )
        l3 = lead(plumb, date(2026, 3, 10))
        add_share(
            s,
            plumb,
            l3,
            alpha,
            shared_at=_at(date(2026, 3, 10)),
            response="declined",
            first_contact_at=_at(date(2026, 3, 12)),
            outcome="lost",
        )
        l4 = lead(plumb, date(2026, 3, 20))
        add_share(s, plumb, l4, alpha, shared_at=_at(date(2026, 3, 20)), outcome="no_response")
        # Alpha: prospective lead in January
        l0 = lead(plumb, date(2026, 1, 10))
        add_share(
            s, plumb, l0, alpha, shared_at=_at(date(2026, 1, 10)), partner_was_prospective=True
        )
        # Alpha: reviews
        review(plumb, alpha, date(2026, 3, 9), 5, lead=l1, comment="Call me on 082 555 1234!")
        for day, rating in ((3, 5), (12, 4), (15, 4), (25, 4)):
            review(plumb, alpha, date(2026, 3, day), rating)
        review(plumb, alpha, date(2026, 3, 26), 1, moderation_status="hidden", dispute=True)
        for day in (5, 20):
            review(plumb, alpha, date(2026, 2, day), 3)
        # a review by Alpha about the homeowner
        add_review(
            s,
            plumb,
            l1,
            alpha,
            author_side="partner_about_homeowner",
            rating=5,
            comment="Lovely client, email t@example.co.za",
            created_at=_at(date(2026, 3, 10)),
        )

        # Bravo: two March shares in the Western Cape, contacted in 10 minutes
        for day in (4, 18):
            lb = lead(plumb, date(2026, 3, day), province="Western Cape")
            add_share(
                s,
                plumb,
                lb,
                bravo,
                shared_at=_at(date(2026, 3, day)),
                response="accepted",
                first_contact_at=_at(date(2026, 3, day)) + timedelta(minutes=10),
            )
        for day, rating in ((2, 5), (6, 4), (11, 5), (19, 4), (28, 4)):
            cape = lead(plumb, date(2026, 2, day), province="Western Cape")
            review(plumb, bravo, date(2026, 3, day), rating, lead=cape)

        # Delta: one share contacted after exactly 60 minutes, one review
        ld = lead(elec, date(2026, 3, 14))
        add_share(
            s,
            elec,
            ld,
            delta,
            shared_at=_at(date(2026, 3, 14)),
            response="accepted",
            first_contact_at=_at(date(2026, 3, 14)) + timedelta(minutes=60),
        )
        review(elec, delta, date(2026, 3, 22), 2)

        # Echo: three shares never contacted
        for day in (7, 8, 9):
            le = lead(plumb, date(2026, 3, day))
            add_share(s, plumb, le, echo, shared_at=_at(date(2026, 3, day)))

        # Foxtrot: six reviews in December 2025 only
        for day in range(1, 7):
            review(plumb, foxtrot, date(2025, 12, day), 2)

        # Golf: two 1-star March reviews
        for day in (10, 11):
            review(plumb, golf, date(2026, 3, day), 1)

        # Hotel: five March reviews, mean 3.2
        for day, rating in ((1, 3), (2, 3), (3, 3), (4, 3), (31, 4)):
            review(plumb, hotel, date(2026, 3, day), rating)

        ids = {
            "alpha": alpha.id,
            "bravo": bravo.id,
            "charlie": charlie.id,
            "delta": delta.id,
            "echo": echo.id,
            "foxtrot": foxtrot.id,
            "golf": golf.id,
            "hotel": hotel.id,
        }
        return World(plumbing.id, electrical.id, ids, homeowner.id)
