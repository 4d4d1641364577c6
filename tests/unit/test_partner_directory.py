"""The partner directory is cached per process, and every edit through a session is seen at
once: by the directory, and by a cached ranking (which carries names and trades)."""

from __future__ import annotations

from data import partners as pdata
from data.db import read_connection, session_scope
from data.models import Partner, PartnerArea, PartnerTrade, Trade
from data.partner_directory import clear_directory_cache, load_directory
from tests.partners_world import MARCH, build_world


def _names(engine, vetting=()):
    with read_connection(engine) as conn:
        return dict(load_directory(conn, vetting)["business_name"])


def test_an_edit_is_seen_at_once_by_the_directory_and_the_cached_ranking(db):
    world = build_world(db)
    clear_directory_cache()
    pid = world.ids["alpha"]
    filters = pdata.PartnerFilters(*MARCH)
    with read_connection(db) as conn:
        before = pdata.partner_table(conn, filters)
    assert _names(db)[pid] != "Renamed & Sons"
    with session_scope(db) as s:
        s.get(Partner, pid).business_name = "Renamed & Sons"
    assert _names(db)[pid] == "Renamed & Sons"
    with read_connection(db) as conn:
        after = pdata.partner_table(conn, filters)
    names = dict(zip(after["partner_id"], after["business_name"], strict=True))
    assert names[pid] == "Renamed & Sons"
    assert len(after) == len(before)


def test_trades_areas_and_trade_names_are_followed(db):
    world = build_world(db)
    clear_directory_cache()
    pid = world.ids["alpha"]  # a plumber in Gauteng
    with read_connection(db) as conn:
        first = load_directory(conn).loc[pid]
    with session_scope(db) as s:
        s.get(Trade, world.electrical).name = "Electrical work"
        s.add(PartnerTrade(partner_id=pid, trade_id=world.electrical))
        s.add(PartnerArea(partner_id=pid, province="Free State"))
    with read_connection(db) as conn:
        second = load_directory(conn).loc[pid]
    assert "Electrical work" in second["trades"] and "Electrical work" not in first["trades"]
    assert world.electrical in second["trade_ids"]
    assert "Free State" in second["province_list"] and "Free State" not in first["province_list"]


def test_vetting_filters_are_cached_apart(db):
    world = build_world(db)
    clear_directory_cache()
    everyone = _names(db)
    vetted = _names(db, ("vetted",))
    assert set(vetted) < set(everyone)
    with read_connection(db) as conn:
        statuses = set(load_directory(conn, ("vetted",))["vetting_status"])
    assert statuses == {"vetted"}
    assert vetted[world.ids["alpha"]] == "Alpha Plumbing"
    assert world.ids["charlie"] in everyone and world.ids["charlie"] not in vetted


def test_a_website_edit_changes_nothing_cached(db):
    from data.rollups import DIRECTORY, current_version

    world = build_world(db)
    with read_connection(db) as conn:
        before = (current_version(conn), current_version(conn, DIRECTORY))
    with session_scope(db) as s:
        s.get(Partner, world.ids["alpha"]).website = "https://alpha.example"
    with read_connection(db) as conn:
        assert (current_version(conn), current_version(conn, DIRECTORY)) == before
    with session_scope(db) as s:
        s.get(Partner, world.ids["alpha"]).vetting_status = "suspended"
    with read_connection(db) as conn:
        after = (current_version(conn), current_version(conn, DIRECTORY))
    assert after[0] != before[0] and after[1] != before[1]
