"""Filters from the query string: valid values pass, anything else is a readable BadQuery."""

from __future__ import annotations

from datetime import date

import pytest

from components import url_state as us

TODAY = date(2026, 11, 25)


def test_parse_and_write_search_round_trip():
    params = us.parse_search("?trade=plumbing&province=Western+Cape&q=O%27Brien")
    assert params == {"trade": "plumbing", "province": "Western Cape", "q": "O'Brien"}
    assert us.to_search(params) == "?trade=plumbing&province=Western+Cape&q=O%27Brien"
    assert us.to_search({"a": None, "b": "", "c": 0}) == "?c=0"
    assert us.to_search({"period": "365d", "trade": "x"}, {"period": "365d"}) == "?trade=x"
    assert us.to_search({}) == ""


def test_too_long_query_is_refused():
    with pytest.raises(us.BadQuery, match="too long"):
        us.parse_search("?q=" + "x" * 3000)


def test_clean_params_from_dash_kwargs():
    assert us.clean_params({"trade": ["a", "b"], "n": 3, "bad key": "x", "none": None}) == {
        "trade": "b",
        "n": "3",
        "none": "",
    }


def test_presets():
    assert us.parse_date_range({}, today=TODAY) == us.DateRange(date(2025, 11, 26), TODAY, "365d")
    r30 = us.parse_date_range({"period": "30d"}, today=TODAY)
    assert (r30.start, r30.end, r30.days) == (date(2026, 10, 27), TODAY, 30)
    ytd = us.parse_date_range({"period": "ytd"}, today=TODAY)
    assert ytd.start == date(2026, 1, 1)
    assert r30.previous() == us.DateRange(date(2026, 9, 27), date(2026, 10, 26), "custom")
    assert r30.as_params() == {"period": "30d"}


def test_custom_range_and_its_errors():
    r = us.parse_date_range({"from": "2026-01-01", "to": "2026-01-31"}, today=TODAY)
    assert (r.preset, r.days) == ("custom", 31)
    assert r.as_params() == {"period": "custom", "from": "2026-01-01", "to": "2026-01-31"}
    with pytest.raises(us.BadQuery, match="after it ends"):
        us.parse_date_range({"from": "2026-03-01", "to": "2026-01-01"}, today=TODAY)
    with pytest.raises(us.BadQuery, match="longest allowed is 10 years"):
        us.parse_date_range({"from": "1976-01-01", "to": "2026-01-01"}, today=TODAY)
    with pytest.raises(us.BadQuery, match="not a date"):
        us.parse_date_range({"from": "2026-02-30", "to": "2026-03-01"}, today=TODAY)
    with pytest.raises(us.BadQuery, match="not a date"):
        us.parse_date_range({"from": "'; DROP TABLE x", "to": "2026-03-01"}, today=TODAY)
    with pytest.raises(us.BadQuery, match="both a start and an end"):
        us.parse_date_range({"period": "custom", "from": "2026-01-01"}, today=TODAY)
    with pytest.raises(us.BadQuery, match="Unknown period"):
        us.parse_date_range({"period": "forever"}, today=TODAY)


def test_choices_ints_text_and_ids():
    assert (
        us.parse_choice({"trade": "plumbing"}, "trade", {"plumbing"}, label="trade") == "plumbing"
    )
    assert us.parse_choice({}, "trade", {"plumbing"}, label="trade") is None
    with pytest.raises(us.BadQuery, match="Unknown trade “astrology”"):
        us.parse_choice({"trade": "astrology"}, "trade", {"plumbing"}, label="trade")
    assert us.parse_choices({"v": "a,b,a"}, "v", {"a", "b"}, label="status") == ("a", "b")
    assert us.parse_int({"n": "7"}, "n", label="minimum", minimum=0, maximum=100) == 7
    assert us.parse_int({}, "n", label="minimum", minimum=0, maximum=100, default=0) == 0
    for bad in ("-1", "1e3", "abc", "101"):
        with pytest.raises(us.BadQuery):
            us.parse_int({"n": bad}, "n", label="minimum", minimum=0, maximum=100)
    assert us.parse_text({"q": "  O'Brien \x00 "}, "q", label="search") == "O'Brien"
    with pytest.raises(us.BadQuery, match="too long"):
        us.parse_text({"q": "x" * 101}, "q", label="search")
    assert us.parse_id("42", label="partner") == 42
    for bad in ("abc", "0", "999999999999", "-3", "1 OR 1=1", None, ""):
        with pytest.raises(us.BadQuery, match="not a valid partner number"):
            us.parse_id(bad, label="partner")


def test_long_bad_values_are_cut_in_messages():
    with pytest.raises(us.BadQuery) as info:
        us.parse_choice({"t": "x" * 90}, "t", {"a"}, label="trade")
    assert len(str(info.value)) < 100


COLUMNS = {"shares": "Leads shared", "name": "Partner", "rank": "Rank", "rating": "Rating"}


def test_a_sort_names_its_columns_by_precedence():
    assert us.parse_sort({"sort": "-shares,name"}, "sort", COLUMNS) == (
        ("shares", True),
        ("name", False),
    )
    assert us.parse_sort({"sort": "rank"}, "sort", COLUMNS) == (("rank", False),)
    assert us.parse_sort({}, "sort", COLUMNS) is None
    assert us.sort_param([("shares", True), ("name", False)]) == "-shares,name"
    assert us.sort_param(None) == ""


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("-password", "The list cannot be sorted by “-password”. Click a column header to sort."),
        ("shares,", "The list cannot be sorted by “”. Click a column header to sort."),
        ("shares,-shares", "The address sorts the list by “Leads shared” twice."),
        ("shares,name,rank,rating", "The list can be sorted by at most 3 columns at once."),
    ],
)
def test_a_bad_sort_says_what_is_wrong(raw, message):
    with pytest.raises(us.BadQuery) as refused:
        us.parse_sort({"sort": raw}, "sort", COLUMNS)
    assert str(refused.value) == message
