"""``data.subject_rows``: one subject's rows of a table, along every route of the registry, each
row once, oldest first (ties and untimed tables by primary key).

The expected rows are the ids ``add_other_people`` recorded by hand as it inserted the other
people's rows (tests/privacy_support.py), in the order their times were written there.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from data.db import session_scope
from data.models import ConsentEvent, Interaction
from data.subject_rows import _table, subject_condition, subject_rows, time_order
from tests.privacy_support import NOW, make_crowded_world


@pytest.fixture
def world(db):
    with session_scope(db) as s:
        return make_crowded_world(s)


def ids_of(db, subject_type: str, table: str, subject_id: int) -> list:
    with db.connect() as conn:
        return [r.id for r in conn.execute(subject_rows(subject_type, table, subject_id))]


def test_rows_reached_by_several_routes_come_once_oldest_first(db, world):
    """The other homeowner's interactions: #1 names them and their lead (two routes), #2 only
    their lead, #3 only them; the calls were 29, 28 and 27 days before NOW."""
    others = world.others
    expected = sorted(others.ids("homeowner", "interaction"))
    assert len(expected) == 3
    assert ids_of(db, "homeowner", "interaction", others.homeowner_id) == expected
    # The other partner's: #1 and #2 (their lead) and #4 (a staff call), 29, 28 and 26 days ago.
    assert ids_of(db, "partner", "interaction", others.partner_id) == sorted(
        others.ids("partner", "interaction")
    )


def test_time_comes_before_the_primary_key(db, world):
    """A row inserted later but dated earlier comes first."""
    with session_scope(db) as s:
        early = Interaction(
            channel="email",
            parties="homeowner_staff",
            at=NOW - timedelta(days=100),
            homeowner_id=world.others.homeowner_id,
            recorded=False,
            purpose="service",
        )
        s.add(early)
        s.flush()
        early_id = early.id
    rows = ids_of(db, "homeowner", "interaction", world.others.homeowner_id)
    assert rows == [early_id, *sorted(world.others.ids("homeowner", "interaction"))]


def test_the_subject_type_is_part_of_the_match(db, world):
    """The subject homeowner and world.partner share id 1: a consent event of the partner must
    not be the homeowner's, nor the other way round."""
    assert world.subject.id == world.partner.id
    with session_scope(db) as s:
        mine = [
            (c.subject_type, c.purpose)
            for c in s.scalars(
                select(ConsentEvent).where(
                    subject_condition("partner", "consent_event", world.partner.id)
                )
            )
        ]
    assert mine == [("partner", "marketing_email")]
    homeowner = ids_of(db, "homeowner", "consent_event", world.subject.id)
    assert len(homeowner) == 3  # make_world's three consents of the subject, nothing else


def test_untimed_tables_are_ordered_by_primary_key():
    columns = [str(c) for c in time_order("partner", "partner_trade")]
    assert columns == ["partner_trade.partner_id", "partner_trade.trade_id"]
    assert [str(c) for c in time_order("homeowner", "interaction")] == [
        "interaction.at",
        "interaction.id",
    ]


def test_an_unknown_table_is_named_in_the_error():
    with pytest.raises(KeyError) as exc:
        _table("no_such_table")
    assert exc.value.args[0] == (
        "table 'no_such_table' is not on Base.metadata: import its module "
        "(data.schema.load_all_models())"
    )
