"""``build_demo``: rebuild the whole database with deterministic demo data at any scale.

Same seed and ``as_of`` give byte-identical rows (given the same suppression key, which the
digests depend on, and apart from the salted password hash). Randomness comes from one
``numpy.random.default_rng(seed)`` per concern, spawned in a fixed order, so that changing how
one table is generated does not reshuffle the others. Nothing reads the clock except to time the
build.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from sqlalchemy import Engine, MetaData

from data.consent.digests import digest_columns
from data.db import downgrade_database, upgrade_database
from data.demo.activity import (
    Activity,
    Leads,
    assign_homeowners,
    make_activity,
    make_interactions,
    make_leads,
)
from data.demo.bulk import ParallelLoader, TableData
from data.demo.compliance import (
    add_marketing_emails,
    honour_recording_consent,
    reappear_after_erasure,
    share_after_withdrawal,
)
from data.demo.consent import add_retention_and_opt_outs, make_consent, make_suppression
from data.demo.derived import rebuild_derived
from data.demo.free_text import add_twins, plant_contacts
from data.demo.people import (
    SUBURB_NAMES,
    Homeowners,
    Partners,
    add_dormant,
    make_homeowners,
    make_partners,
)
from data.demo.privacy import make_disclosures, make_privacy, make_users
from data.demo.timeline import Window
from data.demo.vocab import SERVICE_NAMES, TRADES
from data.do_not_contact import suppression_key
from data.models import LEAD_CHANNELS, SERVICE_TYPES, Base
from data.users import hash_password

HOMEOWNERS_PER_LEAD = 0.8
LEADS_PER_PARTNER = 200
MIN_PARTNERS = 10
MIN_LEADS = 500
#: Homeowners past the retention period (the sweep's work on a fresh demo): this share of
#: the homeowners, at least the minimum.
DORMANT_SHARE, MIN_DORMANT = 0.002, 6
STREAMS = ("time", "people", "partners", "leads", "shares", "privacy", "consent", "extra")


@dataclass
class DemoSummary:
    """Rows written per table and where the time went (seconds)."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"{name:<22}{count:>12,}" for name, count in self.rows.items()]
        lines.append(f"{'total':<22}{sum(self.rows.values()):>12,}")
        lines.append(f"built in {self.seconds:.1f} s")
        return "\n".join(lines)


def build_demo(
    engine: Engine,
    *,
    leads: int,
    seed: int,
    as_of: date,
    password: str,
    progress: Callable[[str], None] = print,
    workers: int | None = None,
) -> DemoSummary:
    """Drop and re-create the schema (Alembic), then generate and bulk-load the demo data.

    ``workers`` loading processes run next to the generator (default: up to two, one per
    core; 0 loads in-process). If the load fails, the schema is left empty, never half full.
    """
    if leads < MIN_LEADS:
        raise ValueError(f"the demo needs at least {MIN_LEADS} leads (got {leads})")
    started = time.perf_counter()
    phases: dict[str, float] = {}
    mark = [started]

    def phase(name: str) -> None:
        now = time.perf_counter()
        phases[name] = phases.get(name, 0.0) + now - mark[0]
        mark[0] = now
        progress(f"{name} done  [{now - started:6.1f} s]")

    progress(f"rebuilding schema on {engine.dialect.name}")
    reset_schema(engine, progress)
    phase("schema")

    streams = dict(zip(STREAMS, np.random.SeedSequence(seed).spawn(len(STREAMS)), strict=True))
    rng = {name: np.random.default_rng(s) for name, s in streams.items()}
    window = Window.before(as_of)
    n_homeowners = max(1, round(leads * HOMEOWNERS_PER_LEAD))
    n_partners = max(MIN_PARTNERS, round(leads / LEADS_PER_PARTNER))

    created_at = window.lead_times(rng["time"], leads)
    owner, repeat = assign_homeowners(rng["time"], leads, n_homeowners)
    tails = rng["people"].choice(10_000_000, size=n_homeowners + n_partners, replace=False)
    homeowners = make_homeowners(rng["people"], window, created_at[~repeat], tails[:n_homeowners])
    partners = make_partners(rng["partners"], window, n_partners, tails[n_homeowners:])
    lead_rows = make_leads(rng["leads"], created_at, owner, repeat, homeowners)
    sub_brand = lead_rows.channel == LEAD_CHANNELS.index("sub_brand")
    first_sub = sub_brand[~repeat]
    solar = lead_rows.trade[~repeat] == [t.code for t in TRADES].index("solar")
    homeowners.source_site = np.where(first_sub, np.where(solar, 2, 1), 0)
    phase("people and leads")

    act = make_activity(rng["shares"], window, lead_rows, homeowners, partners)
    phase("shares, events and reviews")

    try:
        with ParallelLoader(engine, progress, started, workers) as loader:
            # The biggest tables go first, to load while the rest is generated.
            loader.submit(act.shares.table(lead_rows))
            loader.submit(act.events)
            loader.submit(
                _reference_table("trade", [t.code for t in TRADES], [t.name for t in TRADES]),
                _reference_table(
                    "service_type", list(SERVICE_TYPES), [SERVICE_NAMES[s] for s in SERVICE_TYPES]
                ),
                make_users(as_of, hash_password(password)),
                partners.table(rng["partners"]),
                partners.trade_table(),
                partners.area_table(),
            )
            _privacy_consent_and_erasures(
                loader, rng, window, leads, homeowners, partners, lead_rows, act
            )
            phase("privacy, consent and interactions")
            loader.submit(_meta(seed, leads, as_of))
        phase("loaded")
        rebuilt = rebuild_derived(engine, progress, workers)  # loads bypass the session hooks
        phase("derived tables")
    except BaseException:
        progress("the load failed: leaving an empty schema behind")
        with contextlib.suppress(Exception):
            reset_schema(engine, progress)
        raise
    summary = DemoSummary(
        rows={
            t.name: loader.stats.rows[t.name]
            for t in Base.metadata.sorted_tables
            if t.name in loader.stats.rows
        },
        seconds=time.perf_counter() - started,
        phases=phases
        | {f"load {k}": v for k, v in loader.stats.seconds.items()}
        | {f"rebuild {k}": v for k, v in rebuilt.items()},
    )
    progress(f"demo data built: {sum(summary.rows.values()):,} rows in {summary.seconds:.1f} s")
    return summary


def reset_schema(engine: Engine, progress: Callable[[str], None]) -> None:
    """Empty schema at the latest revision: Alembic downgrade then upgrade.

    If the downgrade fails (a database left by an unfinished migration, say), every table is
    dropped instead; the schema itself still comes from the upgrade.
    """
    try:
        downgrade_database(engine)
    except Exception as exc:  # any failure: fall back to dropping everything
        progress(f"downgrade failed ({type(exc).__name__}); dropping every table instead")
        engine.dispose()
        existing = MetaData()
        existing.reflect(engine)
        existing.drop_all(engine)
    upgrade_database(engine)


def _reference_table(name: str, codes: list[str], names: list[str]) -> TableData:
    return TableData(name, {"id": np.arange(1, len(codes) + 1), "code": codes, "name": names})


def _meta(seed: int, leads: int, as_of: date) -> TableData:
    keys = ["demo_as_of", "demo_leads", "demo_seed"]
    return TableData(
        "data_meta", {"key": keys, "value": [as_of.isoformat(), str(leads), str(seed)]}
    )


def _apply_erasures(
    homeowners: Homeowners,
    leads: Leads,
    act: Activity,
    interactions: TableData,
    erased: dict[int, np.datetime64],
) -> None:
    """What an erasure leaves behind: statistics fields, no identifiers, no free text, no
    recordings (the reviews keep their ratings)."""
    rows = np.array(sorted(erased), dtype=np.int64)
    if not len(rows):
        return
    homeowners.erase(rows, np.array([erased[h] for h in rows.tolist()], dtype="datetime64[s]"))
    gone = np.zeros(homeowners.n, dtype=bool)
    gone[rows] = True
    lead_gone = gone[leads.homeowner]
    for i in np.flatnonzero(lead_gone).tolist():
        leads.description[i] = None
    leads.suburb = np.where(lead_gone, len(SUBURB_NAMES), leads.suburb)
    for i in np.flatnonzero(lead_gone[act.reviews.lead]).tolist():
        act.reviews.comment[i] = None
    homeowner_id = interactions.columns["homeowner_id"]
    ids = np.ma.filled(homeowner_id, 0)
    hit = (ids > 0) & gone[np.maximum(ids - 1, 0)]
    refs = interactions.columns["recording_ref"]
    notes = interactions.columns["notes"]
    for i in np.flatnonzero(hit).tolist():
        refs[i] = None
        notes[i] = None
    interactions.columns["recorded"] = np.asarray(interactions.columns["recorded"]) & ~hit


def _add_dormant(
    rng: np.random.Generator, window: Window, homeowners: Homeowners, partners: Partners
) -> None:
    """A few homeowners past retention (``people.add_dormant``), with phone tails nobody has;
    added last, from a stream of their own, so every other generated row stays as it was."""
    count = max(MIN_DORMANT, round(homeowners.n * DORMANT_SHARE))
    used = {p[-7:] for p in [*homeowners.phone, *partners.phone] if p}
    candidates = rng.choice(10_000_000, size=count * 4, replace=False)
    tails = np.array([t for t in candidates.tolist() if f"{t:07d}" not in used][:count])
    add_dormant(rng, window, homeowners, tails)


def _privacy_consent_and_erasures(
    loader: ParallelLoader,
    rng: dict[str, np.random.Generator],
    window: Window,
    leads: int,
    homeowners: Homeowners,
    partners: Partners,
    lead_rows: Leads,
    act: Activity,
) -> None:
    """Requests, interactions, consent and suppression; then the erasures, which change the
    homeowner, lead, review and interaction rows, so those tables are submitted last."""
    review_homeowner = lead_rows.homeowner[act.reviews.lead]
    requests, notes, outcome = make_privacy(
        rng["privacy"],
        window,
        homeowners,
        partners,
        act.reviews,
        review_homeowner,
        total=40 + leads // 20_000,
    )
    interactions = make_interactions(rng["extra"], window, lead_rows, act.shares, act.reviews)
    _extra_erased, extra_opt_outs = add_retention_and_opt_outs(
        rng["consent"],
        window,
        homeowners,
        outcome,
        erasures=max(3, round(homeowners.n * 0.002)),
        opt_outs=max(3, round(homeowners.n * 0.003)),
    )
    consent = make_consent(rng["consent"], window, homeowners, partners, outcome, extra_opt_outs)
    planted = np.random.default_rng(rng["consent"].integers(1 << 62))  # the monitor's findings
    erased = set(outcome.erased)
    honour_recording_consent(planted, window, consent, interactions, erased)
    add_marketing_emails(planted, window, consent, interactions, lead_rows.homeowner, erased)
    share_after_withdrawal(planted, window, consent, act.shares, lead_rows.homeowner,
                           erased | set(outcome.subjects))  # fmt: skip
    loader.submit(consent)
    opt_outs = {**outcome.service_opt_out, **extra_opt_outs}
    left_alone = set(outcome.subjects) | set(opt_outs) | {outcome.legal_hold}
    reappear_after_erasure(planted, homeowners, outcome.erased, left_alone)
    suppression = make_suppression(homeowners, outcome.erased, opt_outs, suppression_key())
    plant_contacts(
        np.random.default_rng(rng["extra"].integers(1 << 62)),
        homeowners,
        act.reviews.comment,
        review_homeowner,
        interactions,
    )
    _apply_erasures(homeowners, lead_rows, act, interactions, outcome.erased)
    _add_dormant(rng["extra"].spawn(1)[0], window, homeowners, partners)
    homeowner_table = homeowners.table()  # with the do-not-contact digests (data.consent.digests)
    homeowner_table.columns |= digest_columns(homeowners.email, homeowners.phone, suppression_key())
    loader.submit(homeowner_table)
    lead_table = lead_rows.table()
    add_twins(lead_table, "description", "description_redacted", homeowners, lead_rows.homeowner)
    loader.submit(lead_table)
    review_table = act.reviews.table(lead_rows)
    add_twins(review_table, "comment", "comment_redacted", homeowners, review_homeowner)
    lead_ids = np.asarray(interactions.columns["lead_id"])
    owner_ids = np.ma.filled(interactions.columns["homeowner_id"], 0)
    call_owner = np.where(owner_ids > 0, owner_ids - 1, lead_rows.homeowner[lead_ids - 1])
    add_twins(interactions, "notes", "notes_redacted", homeowners, call_owner)
    loader.submit(review_table, interactions)
    loader.submit(
        suppression,
        requests,
        notes,
        make_disclosures(window, homeowners, partners, outcome.legal_hold),
    )
