"""Partner performance numbers against hand-computed expectations (tests/partners_world.py).

Every table is computed twice, from the rollups and by GROUP BY over the base tables, and the
two must agree: the rollups are an optimisation, never a second definition.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from types import SimpleNamespace

import pandas as pd
import pytest
from sqlalchemy import select

from data import partner_detail as pdetail
from data import partners as pdata
from data import rollups, stats
from data.db import read_connection, session_scope
from data.models import Lead, Partner, Setting
from data.query_cache import CACHE
from tests.factories import add_review
from tests.partners_world import MARCH, build_world

C_PLUMBING = 62 / 17  # (22 + 22 + 2 + 16) / (5 + 5 + 2 + 5) published March plumbing reviews
WR_ALPHA = 5 / 15 * 4.4 + 10 / 15 * C_PLUMBING
WR_HOTEL = 5 / 15 * 3.2 + 10 / 15 * C_PLUMBING


@pytest.fixture
def world(db):
    CACHE.clear()
    return build_world(db)


def march(**kw) -> pdata.PartnerFilters:
    return pdata.PartnerFilters(*MARCH, **kw)


def table(db, filters, source="rollup") -> pd.DataFrame:
    with read_connection(db) as conn:
        return pdata.partner_table(conn, filters, source=source, use_cache=False)


def row(df: pd.DataFrame, partner_id: int) -> dict:
    rows = df[df["partner_id"] == partner_id]
    assert len(rows) == 1, f"partner {partner_id} not in table"
    return rows.iloc[0].to_dict()


def nan(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


# --- statistics -------------------------------------------------------------------------------


def test_wilson_lower_bound_by_hand():
    # p = 0.75, n = 4, z = 1.96: (1.2302 − 0.640834) / 1.9604
    assert stats.wilson_lower_bound(3, 4) == pytest.approx(0.30063, abs=1e-5)
    assert stats.wilson_lower_bound(0, 10) == 0.0
    assert stats.wilson_lower_bound(10, 10) == pytest.approx(0.72246, abs=1e-5)
    assert stats.wilson_lower_bound(0, 0) is None


def test_bayesian_rating_by_hand():
    assert stats.bayesian_rating(4.4, 5, 3.0) == pytest.approx(5 / 15 * 4.4 + 10 / 15 * 3.0)
    assert stats.bayesian_rating(None, 0, 3.7) == 3.7  # no reviews: the prior
    assert stats.bayesian_rating(5.0, 1, 4.0) == pytest.approx(1 / 11 * 5 + 10 / 11 * 4)
    assert stats.bayesian_rating(None, 0, None) is None


def test_median_from_histogram_interpolates():
    # buckets (15,30], (60,120], (1440,2880]: median position 1.5 falls in (60,120] → 90
    counts = [0] * 12
    counts[2], counts[4], counts[9] = 1, 1, 1
    assert stats.median_from_histogram(counts) == pytest.approx(90)
    assert stats.median_from_histogram([0] * 12) is None
    only_last = [0] * 11 + [3]
    assert stats.median_from_histogram(only_last) == 10080  # open bucket: its lower bound
    assert stats.histogram_labels()[0] == "≤ 5 min"
    assert stats.histogram_labels()[-1] == "> 7 d"


# --- the ranking table ------------------------------------------------------------------------


def test_alpha_counts_rates_and_median(db, world):
    a = row(table(db, march()), world.ids["alpha"])
    assert (a["shares"], a["accepted"], a["contacted"], a["quoted"]) == (4, 2, 3, 2)
    assert (a["hired"], a["completed"], a["reviewed"]) == (2, 1, 1)
    assert (a["contacted_1h"], a["contacted_24h"]) == (1, 2)
    assert a["acceptance_rate"] == 0.5
    assert a["contact_rate"] == 0.75
    assert a["contact_lb"] == pytest.approx(0.30063, abs=1e-5)
    assert a["within_1h"] == 0.25 and a["within_24h"] == 0.5
    assert a["quote_rate"] == pytest.approx(2 / 3)
    assert a["win_rate"] == 1.0
    assert a["completion_rate"] == 0.5
    assert a["review_rate"] == 1.0
    assert a["median_response_min"] == pytest.approx(90)
    assert a["prospective"] == 0  # the prospective lead was shared in January


def test_alpha_ratings_trend_and_dispute_risk(db, world):
    a = row(table(db, march()), world.ids["alpha"])
    assert (a["reviews"], a["all_reviews"], a["disputes"]) == (5, 6, 1)
    assert a["mean_rating"] == pytest.approx(4.4)
    assert a["prior_rating"] == pytest.approx(C_PLUMBING)
    assert a["bayes_rating"] == pytest.approx(WR_ALPHA)
    assert a["reviews_12m"] == 7 and not a["is_new"]
    assert (a["prev_reviews"], a["prev_mean_rating"]) == (2, 3.0)
    assert a["rating_trend"] == pytest.approx(1.4)
    assert a["dispute_rate"] == pytest.approx(1 / 6)
    assert a["at_risk"]
    assert a["risk_reasons"] == "dispute rate 17 % (> 10 %)"


def test_ties_share_a_rank_and_the_order(db, world):
    df = table(db, march())
    ranks = {name: row(df, pid)["rank"] for name, pid in world.ids.items()}
    assert ranks["alpha"] == ranks["bravo"] == 1  # same v, R and C: a tie
    assert ranks["hotel"] == 3  # WR 3.2·5/15 + C·10/15 ≈ 3.50 < Alpha's ≈ 3.90
    for name in ("charlie", "delta", "echo", "foxtrot", "golf"):
        assert nan(ranks[name]), name
    assert row(df, world.ids["hotel"])["bayes_rating"] == pytest.approx(WR_HOTEL)
    # ranked partners first (by WR, ties by review count then id), unranked partners last
    assert list(df["partner_id"][:3]) == [
        world.ids["alpha"],
        world.ids["bravo"],
        world.ids["hotel"],
    ]


def test_no_reviews_in_the_period_is_unranked_even_when_not_new(db, world):
    """Foxtrot: 6 reviews in December 2025 (not new), none in March (v = 0). WR would be the
    prior alone (C = 62/17 ≈ 3.65, above Hotel's ≈ 3.50): there is nothing to rank it on."""
    f = row(table(db, march()), world.ids["foxtrot"])
    assert (f["reviews"], f["reviews_12m"]) == (0, 6)
    assert not f["is_new"]
    assert f["prior_rating"] == pytest.approx(C_PLUMBING)
    assert nan(f["bayes_rating"]) and nan(f["rank"]) and nan(f["mean_rating"])
    # December itself: v = 6, ranked (the only plumbing reviews then, so C = R = 2.0)
    dec = table(db, pdata.PartnerFilters(date(2025, 12, 1), date(2025, 12, 31)))
    d = row(dec, world.ids["foxtrot"])
    assert d["reviews"] == 6 and d["bayes_rating"] == pytest.approx(2.0) and d["rank"] == 1


def test_partner_with_no_leads_and_no_reviews(db, world):
    c = row(table(db, march()), world.ids["charlie"])
    assert c["shares"] == 0 and c["reviews"] == 0
    for col in ("contact_rate", "contact_lb", "median_response_min", "mean_rating", "bayes_rating"):
        assert nan(c[col]), col
    assert c["is_new"] and not c["at_risk"] and c["risk_reasons"] == ""
    assert c["prior_rating"] == pytest.approx(2.0)  # electrical: Delta's single review


def test_single_review_is_new_with_exact_hour_boundary(db, world):
    d = row(table(db, march()), world.ids["delta"])
    assert (d["reviews"], d["mean_rating"], d["reviews_12m"]) == (1, 2.0, 1)
    assert d["is_new"] and nan(d["bayes_rating"]) and nan(d["rank"])
    assert not d["at_risk"]  # a low rating with v < 5 is no reason
    assert d["within_1h"] == 1.0  # contacted after exactly 60 minutes counts as within 1 h


def test_risk_flags(db, world):
    df = table(db, march())
    at_risk = set(df[df["at_risk"]]["partner_id"])
    assert at_risk == {world.ids["alpha"], world.ids["echo"], world.ids["hotel"]}
    assert row(df, world.ids["echo"])["risk_reasons"] == "0 % contacted within 24 h (< 50 %)"
    assert row(df, world.ids["hotel"])["risk_reasons"] == "rating 3.20 < 3.5 (5 reviews)"
    b = row(df, world.ids["bravo"])
    assert nan(b["win_rate"]) and b["quote_rate"] == 0.0  # 0 quoted: no win rate
    assert b["review_rate"] != b["review_rate"]  # nothing completed: NaN


def test_criteria_from_settings(db, world):
    with session_scope(db) as s:
        s.add(Setting(key="partner_risk.max_dispute_rate", value="0.2"))
        s.add(Setting(key="partner_risk.min_rating", value="not a number"))
    with read_connection(db) as conn:
        criteria = pdata.RiskCriteria.load(conn)
    assert criteria.max_dispute_rate == 0.2 and criteria.min_rating == 3.5
    with read_connection(db) as conn:
        df = pdata.partner_table(conn, march(), criteria, use_cache=False)
    assert not row(df, world.ids["alpha"])["at_risk"]  # 17 % is now acceptable


def test_filters_trade_province_vetting_min_reviews(db, world):
    ids = world.ids
    elec = table(db, march(trade_id=world.electrical))
    assert set(elec["partner_id"]) == {ids["charlie"], ids["delta"]}
    assert row(elec, ids["delta"])["prior_rating"] == 2.0
    cape = table(db, march(province="Western Cape"))
    assert set(cape["partner_id"]) == {ids["bravo"]}
    assert row(cape, ids["bravo"])["shares"] == 2
    assert row(cape, ids["bravo"])["reviews"] == 5  # review leads are in the Western Cape
    gauteng = table(db, march(province="Gauteng"))
    assert row(gauteng, ids["alpha"])["shares"] == 4
    assert ids["bravo"] not in set(gauteng["partner_id"])
    vetted = table(db, march(vetting=("vetted",)))
    assert set(vetted["partner_id"]) == {
        ids["alpha"],
        ids["bravo"],
        ids["delta"],
        ids["foxtrot"],
        ids["hotel"],
    }
    five = table(db, march(min_reviews=5))
    assert set(five["partner_id"]) == {ids["alpha"], ids["bravo"], ids["hotel"]}
    both = table(db, march(trade_id=world.plumbing, province="Western Cape"))
    assert set(both["partner_id"]) == {ids["bravo"]}


def test_empty_period(db, world):
    df = table(db, pdata.PartnerFilters(date(2020, 1, 1), date(2020, 1, 31)))
    assert len(df) == 8
    assert df["shares"].sum() == 0 and df["reviews"].sum() == 0
    assert df["bayes_rating"].isna().all() and df["is_new"].all()
    assert not df["at_risk"].any()
    h = pdata.headline(df)
    assert (h.shares, h.reviews, h.at_risk) == (0, 0, 0)
    assert h.contact_rate is None and h.mean_rating is None and h.median_response_min is None


def test_empty_database(db):
    df = table(db, march())
    assert df.empty and list(df.columns) == list(pdata.TABLE_COLUMNS)
    h = pdata.headline(df)
    assert h.partners == 0 and h.shares == 0


def test_headline_by_hand(db, world):
    h = pdata.headline(table(db, march()))
    assert (h.partners, h.active_partners, h.shares) == (8, 4, 10)
    assert h.acceptance_rate == 0.5 and h.contact_rate == 0.6
    assert h.within_1h == 0.4 and h.within_24h == 0.5
    # pooled histogram: 2×(5,15], (15,30], (30,60], (60,120], (1440,2880] → position 3 → 30
    assert h.median_response_min == pytest.approx(30)
    assert h.reviews == 18 and h.mean_rating == pytest.approx(64 / 18)
    # ranked: Alpha, Bravo, Hotel; new: Charlie, Delta, Echo, Golf; Foxtrot neither (v = 0)
    assert (h.rated_partners, h.new_partners, h.at_risk) == (3, 4, 3)


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"trade_id": "electrical"},
        {"province": "Western Cape"},
        {"vetting": ("vetted", "suspended")},
        {"min_reviews": 2},
    ],
)
def test_rollups_agree_with_group_by_over_base_tables(db, world, filters):
    if filters.get("trade_id") == "electrical":
        filters = {**filters, "trade_id": world.electrical}
    for period in (MARCH, (date(2026, 2, 15), date(2026, 3, 9)), (date(2025, 4, 1), MARCH[1])):
        f = pdata.PartnerFilters(*period, **filters)
        fast = table(db, f, "rollup")
        slow = table(db, f, "base")
        pd.testing.assert_frame_equal(fast, slow, check_dtype=False)


def test_parallel_lookups_give_the_same_table(db, world, monkeypatch):
    """On PostgreSQL a large ranking is looked up in parallel parts (one connection each,
    all on the caller's snapshot): the table must not change."""
    if db.dialect.name != "postgresql":
        pytest.skip("the parallel look-up is PostgreSQL-only (SQLite ignores parts)")
    calls: list[int] = []
    real = rollups.read._rows_in_parts

    def spy(conn, statement, params, parts):
        calls.append(parts)
        return real(conn, statement, params, parts)

    monkeypatch.setattr(rollups.read, "_rows_in_parts", spy)
    for filters in ({}, {"trade_id": world.electrical}, {"province": "Western Cape"}):
        f = pdata.PartnerFilters(*MARCH, **filters)
        monkeypatch.setattr(pdata, "PARALLEL_MIN_PARTNERS", 10**9)
        single = table(db, f)
        monkeypatch.setattr(pdata, "PARALLEL_MIN_PARTNERS", 0)
        monkeypatch.setattr(pdata, "PARALLEL_PARTS", 3)
        parallel = table(db, f)
        pd.testing.assert_frame_equal(parallel, single)
    assert calls == [3, 3, 3]


def test_ratings_by_trade(db, world):
    with read_connection(db) as conn:
        df = pdata.partner_table(conn, march(), use_cache=False)
        by_trade = pdata.ratings_by_trade(conn, df)
    assert set(by_trade["trade"]) == {"Plumbing"}
    assert len(by_trade) == 3  # the ranked partners: Alpha, Bravo, Hotel


def test_cache_is_keyed_on_filters_and_invalidated_by_changes(db, world):
    CACHE.clear()
    with read_connection(db) as conn:
        first = pdata.partner_table(conn, march())
        again = pdata.partner_table(conn, march())
        other = pdata.partner_table(conn, march(min_reviews=5))
    assert again is first and other is not first
    with session_scope(db) as s:
        lead = s.scalars(select(Lead).order_by(Lead.id)).first()
        rows = SimpleNamespace(trade=SimpleNamespace(id=world.plumbing))
        hotel = s.get(Partner, world.ids["hotel"])
        add_review(s, rows, lead, hotel, rating=5, created_at=datetime(2026, 3, 30, 10))
    with read_connection(db) as conn:
        fresh = pdata.partner_table(conn, march())
    assert fresh is not first
    assert row(fresh, world.ids["hotel"])["reviews"] == 6


def test_trade_ratings_are_cached_like_the_table_and_follow_changes(db, world):
    CACHE.clear()

    def hotel(df: pd.DataFrame) -> float:
        return float(df.loc[df["partner_id"] == world.ids["hotel"], "bayes_rating"].iloc[0])

    def ratings(conn, filters, trade_id=None):
        return pdata.trade_ratings(conn, filters, pdata.partner_table(conn, filters), trade_id)

    with read_connection(db) as conn:
        first = ratings(conn, march())
        again = ratings(conn, march())
        one_trade = ratings(conn, march(), trade_id=world.plumbing)
        other = ratings(conn, march(min_reviews=5))
    assert again is first
    assert one_trade is not first and other is not first
    assert set(first["trade"]) == {"Plumbing"} and len(first) == 3  # Alpha, Bravo, Hotel
    with session_scope(db) as s:
        lead = s.scalars(select(Lead).order_by(Lead.id)).first()
        rows = SimpleNamespace(trade=SimpleNamespace(id=world.plumbing))
        add_review(s, rows, lead, s.get(Partner, world.ids["hotel"]), rating=5,
                   created_at=datetime(2026, 3, 30, 10))  # fmt: skip
    with read_connection(db) as conn:
        fresh = ratings(conn, march())
        uncached = pdata.ratings_by_trade(conn, pdata.partner_table(conn, march(), use_cache=False))
    assert fresh is not first
    assert hotel(fresh) > hotel(first)  # a 5-star review raises the Bayesian rating
    pd.testing.assert_frame_equal(fresh, uncached)


# --- detail page ------------------------------------------------------------------------------


def test_profile_never_exposes_the_payment_token(db, world):
    with read_connection(db) as conn:
        profile = pdetail.partner_profile(conn, world.ids["alpha"])
        missing = pdetail.partner_profile(conn, 999_999)
    assert missing is None
    assert profile is not None
    assert profile.payment_last4 == "4242"
    assert "tok_secret" not in repr(profile)
    assert profile.trades == ("Plumbing",) and profile.areas == ("Gauteng",)


def test_partner_metrics_match_the_table_row(db, world):
    with read_connection(db) as conn:
        metrics = pdetail.partner_metrics(conn, world.ids["alpha"], march())
        table_row = row(pdata.partner_table(conn, march(), use_cache=False), world.ids["alpha"])
        with pytest.raises(LookupError):
            pdetail.partner_metrics(conn, 999_999, march())
    for key, value in metrics.items():
        expected = table_row[key]
        if nan(expected):
            assert nan(value), key
        else:
            assert value == expected, key


def test_monthly_trend(db, world):
    with read_connection(db) as conn:
        trend = pdetail.monthly_trend(conn, world.ids["alpha"], date(2026, 3, 31), months=3)
    assert [m.isoformat() for m in trend["month"]] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert trend["reviews"].tolist() == [0, 2, 5]
    assert trend["shares"].tolist() == [1, 0, 4]
    assert trend["mean_rating"].iloc[1] == 3.0 and trend["mean_rating"].iloc[2] == 4.4
    assert nan(trend["mean_rating"].iloc[0])


def test_monthly_trend_follows_the_trade_and_province_filters(db, world):
    alpha = world.ids["alpha"]
    end = date(2026, 3, 31)
    with read_connection(db) as conn:
        everything = pdetail.monthly_trend(conn, alpha, end, months=3)
        plumbing = pdetail.monthly_trend(conn, alpha, end, months=3, trade_id=world.plumbing)
        electrical = pdetail.monthly_trend(conn, alpha, end, months=3, trade_id=world.electrical)
        limpopo = pdetail.monthly_trend(conn, alpha, end, months=3, province="Limpopo")
    pd.testing.assert_frame_equal(plumbing, everything)  # Alpha works in plumbing only
    for empty in (electrical, limpopo):
        assert empty["reviews"].sum() == 0 and empty["shares"].sum() == 0


def test_rating_breakdown_against_trade(db, world):
    with read_connection(db) as conn:
        profile = pdetail.partner_profile(conn, world.ids["alpha"])
        stars, aspects = pdetail.rating_breakdown(conn, profile, march())
    assert stars["reviews"].tolist() == [0, 0, 0, 3, 2]
    overall = aspects.set_index("aspect").loc["overall"]
    assert overall["partner"] == pytest.approx(4.4)
    assert overall["trade"] == pytest.approx(C_PLUMBING)
    assert overall["trade_n"] == 17
    assert nan(aspects.set_index("aspect").loc["quality", "partner"])  # no sub-ratings given


def test_funnel_against_trade(db, world):
    with read_connection(db) as conn:
        profile = pdetail.partner_profile(conn, world.ids["alpha"])
        f = pdetail.funnel(conn, profile, march()).set_index("step")
    assert f["partner"].tolist() == [4, 3, 2, 2, 1, 1]
    # plumbing in March: Alpha 4, Bravo 2, Echo 3 shares; contacted 3 + 2
    assert f.loc["Shared", "trade"] == 9 and f.loc["Contacted", "trade"] == 5
    assert f.loc["Contacted", "partner_share"] == 0.75
    assert f.loc["Contacted", "trade_share"] == pytest.approx(5 / 9)


def test_response_distribution(db, world):
    with read_connection(db) as conn:
        metrics = pdetail.partner_metrics(conn, world.ids["alpha"], march())
    dist = pdetail.response_distribution(metrics)
    assert dist["leads"].sum() == 3
    assert dist.set_index("bucket").loc["15 min–30 min", "leads"] == 1


def test_recent_reviews_show_initials_and_suburb_only(db, world):
    with read_connection(db) as conn:
        about = pdetail.recent_reviews(conn, world.ids["alpha"], about_partner=True, until=MARCH[1])
        by = pdetail.recent_reviews(conn, world.ids["alpha"], about_partner=False, until=MARCH[1])
        flagged = pdetail.disputes_and_flags(conn, world.ids["alpha"], until=MARCH[1])
    assert len(about) == 8  # 5 March + hidden + 2 February
    assert set(about["homeowner"]) == {"T. N."} and set(about["suburb"]) == {"Sandton"}
    text = about.to_json() + by.to_json() + flagged.to_json()
    for secret in ("Thandi", "Nkosi", "t@example.co.za", "082 555 1234"):
        assert secret not in text
    # the stored redacted form (data.free_text, issue 12)
    assert "[phone removed]" in text and "[email removed]" in text
    assert len(by) == 1 and by.iloc[0]["rating"] == 5
    assert len(flagged) == 1 and flagged.iloc[0]["dispute"]


def test_prospective_leads(db, world):
    with read_connection(db) as conn:
        total, rows = pdetail.prospective_leads(conn, world.ids["alpha"], until=MARCH[1])
        none_total, _ = pdetail.prospective_leads(conn, world.ids["bravo"], until=MARCH[1])
    assert total == 1 and none_total == 0
    assert rows.iloc[0]["shared"] == date(2026, 1, 10)
    assert set(rows.columns) == {
        "lead_id",
        "shared",
        "trade",
        "service",
        "city",
        "province",
        "response",
        "outcome",
    }


def test_initials():
    assert pdetail.initials("thandi", "Nkosi") == "T. N."
    assert pdetail.initials(None, None) == "–"


def test_vectorised_statistics_match_the_scalar_ones():
    import numpy as np

    rng = np.random.default_rng(3)
    n = rng.integers(0, 30, 200)
    k = (n * rng.random(200)).astype(int)
    vector = stats.wilson_lower_bounds(k, n)
    for i in range(200):
        scalar = stats.wilson_lower_bound(int(k[i]), int(n[i]))
        assert (scalar is None and np.isnan(vector[i])) or vector[i] == pytest.approx(scalar)
    hist = rng.integers(0, 4, (200, 12)) * (rng.random((200, 12)) < 0.4)
    medians = stats.medians_from_histograms(hist)
    for i in range(200):
        scalar = stats.median_from_histogram(hist[i].tolist())
        assert (scalar is None and np.isnan(medians[i])) or medians[i] == pytest.approx(scalar)
    v = rng.integers(0, 8, 200)
    mean = np.where(v > 0, rng.uniform(1, 5, 200), np.nan)
    prior = np.where(rng.random(200) < 0.2, np.nan, rng.uniform(3, 5, 200))
    bayes = stats.bayesian_ratings(mean, v, prior)
    for i in range(200):
        scalar = stats.bayesian_rating(
            None if np.isnan(mean[i]) else float(mean[i]),
            int(v[i]),
            None if np.isnan(prior[i]) else float(prior[i]),
        )
        assert (scalar is None and np.isnan(bayes[i])) or bayes[i] == pytest.approx(scalar)


def test_gc_pause_is_nested_and_restores_the_collector():
    import gc

    assert gc.isenabled()
    with pdata.gc_paused():
        assert not gc.isenabled()
        with pdata.gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
