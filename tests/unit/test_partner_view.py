"""The detail page's view loader takes short cuts for speed (the funnel's own counts from the
metrics row, array readers instead of frames): the result must be what the long way gives."""

from __future__ import annotations

import pandas as pd
import pytest

from data import partner_detail as pdetail
from data import partners as pdata
from data.db import read_connection
from data.query_cache import CACHE
from tests.partners_world import MARCH, build_world


@pytest.fixture
def world(db):
    CACHE.clear()
    return build_world(db)


@pytest.mark.parametrize(
    "extra",
    [{}, {"trade": "plumbing"}, {"province": "Gauteng"}, {"province": "Limpopo"}],
    ids=["all", "trade", "province", "empty province"],
)
def test_funnel_from_the_metrics_row_equals_the_funnel_read(db, world, extra):
    trade_id = world.plumbing if extra.get("trade") else None
    filters = pdata.PartnerFilters(*MARCH, trade_id=trade_id, province=extra.get("province"))
    with read_connection(db) as conn:
        for name in ("alpha", "bravo", "charlie"):
            profile = pdetail.partner_profile(conn, world.ids[name])
            metrics = pdetail.partner_metrics(conn, profile.id, filters)
            short = pdetail.funnel(conn, profile, filters, own_counts=metrics)
            pd.testing.assert_frame_equal(short, pdetail.funnel(conn, profile, filters))


def test_the_view_holds_what_each_reader_gives(db, world):
    filters = pdata.PartnerFilters(*MARCH)
    alpha = world.ids["alpha"]
    with read_connection(db) as conn:
        view = pdetail.load_partner_view(conn, alpha, filters)
        profile = pdetail.partner_profile(conn, alpha)
        stars, aspects = pdetail.rating_breakdown(conn, profile, filters)
        funnel = pdetail.funnel(conn, profile, filters)
    assert view is not None
    pd.testing.assert_frame_equal(view.stars, stars)
    pd.testing.assert_frame_equal(view.aspects, aspects)
    pd.testing.assert_frame_equal(view.funnel, funnel)
    assert view.funnel["partner"].tolist() == [4, 3, 2, 2, 1, 1]
