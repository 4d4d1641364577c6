"""The lead-flow numbers on the hand-built world of ``tests/leadflow_world.py``.

Every expectation is worked out by hand from that world's table (the arithmetic is in the
comments); none is read from the code under test. Medians are estimated inside histogram
buckets (bounds 15, 60, 240, 720, 1440, 2880, 4320, 7200, 10080, 20160, 43200 minutes):
median = lower + width × (n/2 − leads in earlier buckets) / leads in the bucket.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pandas as pd
import pytest
from sqlalchemy import Engine, select, update

from data import leadflow as lf
from data.db import read_connection, session_scope
from data.models import Lead, LeadShare
from data.rollups import lead_flow
from data.rollups.lead_flow import FLOW_TABLES, START, TRANSITION_TABLES, rebuild_lead_flow
from tests.leadflow_world import PERIOD, SUB, World, build_world


@pytest.fixture
def world(db: Engine) -> World:
    return build_world(db)


def _filters(**kw: object) -> lf.LeadFlowFilters:
    return lf.LeadFlowFilters(start=PERIOD[0], end=PERIOD[1], **kw)  # type: ignore[arg-type]


def test_headline_and_change_against_previous_period(world: World) -> None:
    with read_connection() as conn:
        h = lf.headline(conn, _filters())
    # L1..L5 (L5 was created on 15 Mar in South Africa, 14 Mar in UTC)
    assert h.current.leads == 5
    assert h.current.shared == pytest.approx(4 / 5)  # L2, L3, L4, L5
    assert h.current.contacted_1h == pytest.approx(2 / 5)  # L2 (45 min), L5 (50 min)
    assert h.current.contacted_24h == pytest.approx(3 / 5)  # + L3 (20 h); L4 took 30 h
    assert h.current.hire_rate == pytest.approx(1 / 5)  # L2 (L4's hire is after 30 days)
    assert h.current.completion_rate == pytest.approx(1.0)  # L2 completed
    # L2 hired at 4320 min: bucket (2880, 4320], one lead → 2880 + 1440 × 0.5
    assert h.current.median_hire_minutes == pytest.approx(3600)
    # previous period: L0 alone, hired at 2880: bucket (1440, 2880] → 2160
    assert h.previous.leads == 1
    assert h.previous.median_hire_minutes == pytest.approx(2160)
    changes = h.changes()
    assert changes["leads"] == 4
    assert changes["shared"] == pytest.approx(-0.2)
    assert changes["hire_rate"] == pytest.approx(-0.8)
    assert changes["median_hire_minutes"] == pytest.approx(1440)


def test_funnel_counts_shares_and_medians(world: World) -> None:
    with read_connection() as conn:
        f = lf.funnel(conn, _filters())
    assert list(f["step"]) == [
        "leads", "shared", "contacted", "quoted", "hired", "completed", "reviewed"
    ]  # fmt: skip
    # quoted: L2, L3 (L4's quote came after 30 days); hired: L2 only, shared to three partners
    assert list(f["count"]) == [5, 4, 4, 2, 1, 1, 1]
    assert list(f["of_first"]) == pytest.approx([1, 0.8, 0.8, 0.4, 0.2, 0.2, 0.2])
    assert pd.isna(f["of_previous"].iloc[0])
    assert list(f["of_previous"].iloc[1:]) == pytest.approx([0.8, 1, 0.5, 0.5, 1, 1])
    medians = list(f["median_minutes"].iloc[1:])
    # shared after creation: 10, 60, 5, 5 → buckets [0,15]×3, (15,60]×1; half = 2 → 15 × 2/3
    # contacted after the first share: L2 45−10=35, L3 1200−60=1140, L4 1800−5=1795,
    #   L5 50−5=45 → (15,60]×2 first; half = 2 → 15 + 45 × 2/2 = 60
    # quoted after the first contact: L2 1440−45=1395 (720,1440], L3 2880−1200=1680 → 1440
    # hired after the first quote: 4320−1440=2880 (1440,2880] → 2160
    # completed after the hire: 14400−4320=10080 (7200,10080] → 8640
    # reviewed after completion: 17280−14400=2880 → 2160
    assert medians == pytest.approx([10, 60, 1440, 2160, 8640, 2160])
    assert pd.isna(f["median_minutes"].iloc[0])


def test_filters_by_trade_and_source_site(world: World) -> None:
    with read_connection() as conn:
        plumbing = lf.funnel(conn, _filters(trade_id=world.plumbing))
        sub = lf.funnel(conn, _filters(source_site=SUB))
        gauteng_organic = lf.headline(conn, _filters(province="Gauteng", channel="organic"))
    assert list(plumbing["count"]) == [3, 2, 2, 1, 1, 1, 1]  # L1, L2, L4
    assert list(sub["count"]) == [2, 2, 2, 1, 0, 0, 0]  # L3, L5
    assert gauteng_organic.current.leads == 3  # L1, L2, L5


def test_sankey_orders_events_by_time(world: World) -> None:
    with read_connection() as conn:
        all_leads = lf.transitions(conn, _filters())
        sub = lf.transitions(conn, _filters(source_site=SUB))  # counted from the base tables
        gp = lf.transitions(conn, _filters(province="Gauteng"))  # from the rollup
    got = {(r.source, r.target): r.count for r in all_leads.itertuples()}
    assert got == {
        (START, "created"): 5,  # every lead's first status, L1..L5
        ("created", "shared"): 4,  # L2..L5
        ("shared", "contacted"): 4,
        ("contacted", "quoted"): 2,  # L2, L3 (L3's events were written backwards)
        ("quoted", "hired"): 1,
        ("hired", "completed"): 1,
        ("completed", "reviewed"): 1,
        ("quoted", "closed"): 1,  # L3, cancelled after its quote
    }
    assert {(r.source, r.target): r.count for r in sub.itertuples()} == {
        (START, "created"): 2,  # L3, L5
        ("created", "shared"): 2,
        ("shared", "contacted"): 2,
        ("contacted", "quoted"): 1,
        ("quoted", "closed"): 1,
    }
    # Gauteng: L1 (created only), L2 (the full path), L5 (to contacted)
    assert {(r.source, r.target): r.count for r in gp.itertuples()} == {
        (START, "created"): 3,  # L1, L2, L5
        ("created", "shared"): 2,
        ("shared", "contacted"): 2,
        ("contacted", "quoted"): 1,
        ("quoted", "hired"): 1,
        ("hired", "completed"): 1,
        ("completed", "reviewed"): 1,
    }


def test_leads_over_time_by_channel_and_step(world: World) -> None:
    with read_connection() as conn:
        daily, grain = lf.leads_over_time(conn, _filters(), by="channel")
        hired, _ = lf.leads_over_time(conn, _filters(step="hired"), by="channel")
        weekly, wgrain = lf.leads_over_time(conn, _filters(), by="province", grain="week")
    assert grain == "day"
    assert [(str(p), k, c) for p, k, c in daily.itertuples(index=False)] == [
        ("2026-03-02", "organic", 1),
        ("2026-03-03", "organic", 1),
        ("2026-03-04", "paid_search", 1),
        ("2026-03-09", "paid_search", 1),
        ("2026-03-15", "organic", 1),  # L5, on its South African day
    ]
    assert [(str(p), k, c) for p, k, c in hired.itertuples(index=False)] == [
        ("2026-03-03", "organic", 1)
    ]
    assert wgrain == "week"
    assert [(str(p), k, c) for p, k, c in weekly.itertuples(index=False)] == [
        ("2026-03-02", "Gauteng", 2),  # L1, L2
        ("2026-03-02", "Western Cape", 1),  # L3
        ("2026-03-09", "Gauteng", 1),  # L5
        ("2026-03-09", "Western Cape", 1),  # L4
    ]


@pytest.mark.parametrize(
    ("today", "provisional"),
    [
        # week of 9 Mar ends 15 Mar: its last leads reach 30 days on 14 Apr
        (date(2026, 4, 10), [False, True]),
        # week of 2 Mar ends 8 Mar: 30 days later is 7 Apr, so on 7 Apr it is final...
        (date(2026, 4, 7), [False, True]),
        # ...and on 6 Apr still provisional
        (date(2026, 4, 6), [True, True]),
        (date(2026, 4, 14), [False, False]),
    ],
)
def test_weekly_cohorts_at_the_window_edge(
    world: World, today: date, provisional: list[bool]
) -> None:
    with read_connection() as conn:
        cohorts = lf.weekly_cohorts(conn, _filters(), today)
    assert [str(w) for w in cohorts["week"]] == ["2026-03-02", "2026-03-09"]
    assert list(cohorts["leads"]) == [3, 2]  # L1, L2, L3 | L4, L5
    assert list(cohorts["hired"]) == [1, 0]
    assert list(cohorts["hire_rate"]) == pytest.approx([1 / 3, 0])
    assert list(cohorts["provisional"]) == provisional


def test_first_contact_distribution_and_by_trade(world: World) -> None:
    with read_connection() as conn:
        dist = lf.first_contact_distribution(conn, _filters())
        by_trade = lf.contact_by_trade(
            conn, _filters(), {world.plumbing: "Plumbing", world.electrical: "Electrical"}
        )
    # from creation: L2 45 and L5 50 in (15,60]; L3 1200 in (720,1440]; L4 1800 in (1440,2880]
    assert list(dist["leads"]) == [0, 2, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0]
    assert dist["label"].iloc[1] == "15 min–1 h"
    rows = {r.trade: r for r in by_trade.itertuples()}
    assert rows["Plumbing"].leads == 3  # L1, L2, L4
    assert rows["Plumbing"].within_1h == pytest.approx(1 / 3)  # L2
    assert rows["Plumbing"].within_24h == pytest.approx(1 / 3)
    assert rows["Electrical"].within_1h == pytest.approx(1 / 2)  # L5
    assert rows["Electrical"].within_24h == pytest.approx(1.0)  # L3, L5
    assert list(by_trade["trade"]) == ["Plumbing", "Electrical"]  # worst 24-hour share first


def test_province_breakdown(world: World) -> None:
    with read_connection() as conn:
        frame = lf.province_breakdown(conn, _filters())
        reached = lf.province_breakdown(conn, _filters(step="quoted"))
    assert [(r.province, r.leads, r.hired) for r in frame.itertuples()] == [
        ("Gauteng", 3, 1),
        ("Western Cape", 2, 0),
    ]
    assert list(frame["hire_rate"]) == pytest.approx([1 / 3, 0])
    # quoted: L2 (Gauteng), L3 (Western Cape)
    assert sorted((r.province, r.count) for r in reached.itertuples()) == [
        ("Gauteng", 1),
        ("Western Cape", 1),
    ]


def test_operations_list(world: World) -> None:
    now = datetime(2026, 3, 16, 12)
    with read_connection() as conn:
        ops = lf.operations_list(conn, _filters(), now)
        early = lf.operations_list(conn, _filters(), datetime(2026, 3, 2, 20))
    waiting = ops[ops["kind"] == "Not contacted after 24 h"]
    # L1 only (L4 and L5 were contacted); created 2 Mar 08:00 → 14 days 4 h = 340 h
    assert list(waiting["lead_id"]) == [world.leads["L1"]]
    assert list(waiting["hours_waiting"]) == [340.0]
    assert waiting["partner_id"].isna().all()  # never shared: no partner to chase
    prospective = ops[ops["kind"] == "Shared with a prospective partner"]
    # L2's share to P3 at 3 Mar 10:00 → 13 days 2 h = 314 h
    assert list(prospective["lead_id"]) == [world.leads["L2"]]
    assert list(prospective["partner_id"]) == [world.partners["P3"]]
    assert list(prospective["hours_waiting"]) == [314.0]
    # at 20:00 on 2 Mar, L1 has waited 12 hours: not yet on the list
    assert list(early["kind"]) == []
    assert "first_name" not in ops.columns and "email" not in ops.columns


@pytest.mark.parametrize("days_per_pass", [60, 1], ids=["one pass", "a pass per day"])
def test_rollups_follow_writes_and_equal_a_rebuild(
    world: World, days_per_pass: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes through a session keep the rollups current: a lead contacted later, a lead
    moved to another day, a share deleted; the result equals a full rebuild, whether the
    touched days are recounted in one pass or one pass each."""
    monkeypatch.setattr(lead_flow, "DAYS_PER_PASS", days_per_pass)
    with session_scope() as s:
        s.execute(update(Lead).where(Lead.id == world.leads["L1"]).values(status="shared"))
        l1 = s.get(Lead, world.leads["L1"])
        assert l1 is not None
        s.add(
            LeadShare(
                lead_id=l1.id,
                partner_id=world.partners["P1"],
                trade_id=l1.trade_id,
                province=l1.province,
                shared_at=datetime(2026, 3, 2, 8, 30),
                first_contact_at=datetime(2026, 3, 2, 8, 40),
            )
        )
    with session_scope() as s:
        l4 = s.get(Lead, world.leads["L4"])
        assert l4 is not None
        l4.created_at = datetime(2026, 3, 20, 8)  # out of the period
        share = s.scalars(select(LeadShare).where(LeadShare.lead_id == world.leads["L5"])).one()
        s.delete(share)
    with read_connection() as conn:
        h = lf.headline(conn, _filters())
    assert h.current.leads == 4  # L1, L2, L3, L5
    assert h.current.shared == pytest.approx(3 / 4)  # L1 (now), L2, L3; L5 lost its share
    # L1 contacted 40 min after creation; L5 has no share any more
    assert h.current.contacted_1h == pytest.approx(2 / 4)  # L1, L2
    incremental = _snapshot()
    with session_scope() as s:
        rebuild_lead_flow(s.connection())
    assert _snapshot() == incremental


def _snapshot() -> dict[str, list[tuple]]:
    with read_connection() as conn:
        return {
            t.name: sorted(tuple(str(v) for v in row) for row in conn.execute(select(t)))
            for t in (*FLOW_TABLES.values(), *TRANSITION_TABLES.values())
        }


def test_filters_refuse_bad_values() -> None:
    with pytest.raises(ValueError):
        lf.LeadFlowFilters(start=date(2026, 3, 2), end=date(2026, 3, 1))
    with pytest.raises(ValueError):
        _filters(step="paid")
    assert replace(_filters(), start=date(2026, 3, 1)).previous().end == date(2026, 2, 28)


def test_median_from_histogram() -> None:
    assert lf.median_from_histogram([0] * 12) is None
    assert lf.median_from_histogram([1, 1] + [0] * 10) == pytest.approx(15)  # 0 + 15 × 1/1
    assert lf.median_from_histogram([0] * 11 + [3]) == pytest.approx(43200)  # open bucket


def test_empty_database_gives_zeros_and_empty_frames(db: Engine) -> None:
    with read_connection() as conn:
        h = lf.headline(conn, _filters())
        f = lf.funnel(conn, _filters())
        series, _ = lf.leads_over_time(conn, _filters(), by="trade")
        cohorts = lf.weekly_cohorts(conn, _filters(), date(2026, 4, 1))
        sankey = lf.transitions(conn, _filters())
    assert h.current.leads == 0 and h.current.shared is None
    assert list(f["count"]) == [0] * 7
    assert series.empty and cohorts.empty and sankey.empty
