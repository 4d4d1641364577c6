"""Leads, their shares with partners, the status events, reviews and interactions.

The story of every lead is simulated per share with numpy: each partner has a latent quality
that makes it view, accept, contact and quote faster and more often, win more hires and collect
better ratings, so the partner-performance measures in the console have something real to find.
Anything that would happen after the end of the window has not happened yet (NaT), which leaves
the most recent leads open, as in a live system.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data.demo.bulk import Cat, TableData
from data.demo.people import CITY_NAMES, SUBURB_NAMES, Homeowners, Partners, local_phone
from data.demo.timeline import (
    DAY,
    NAT,
    Window,
    after,
    first_per_group,
    lognormal_seconds,
    max_per_group,
    seconds,
    sigmoid,
)
from data.demo.vocab import (
    CHANNELS_NEW,
    COMMENTS_ABOUT_HOMEOWNER,
    COMMENTS_BAD,
    COMMENTS_GOOD,
    COMMENTS_MIXED,
    DESCRIPTION_EXTRAS,
    INTERACTION_NOTES,
    SERVICE_JOB_DAYS,
    SERVICE_PRICE,
    SERVICE_QUOTE_RATE,
    TRADES,
)
from data.geography import PROVINCE_NAMES
from data.models import (
    INTERACTION_CHANNELS,
    INTERACTION_PURPOSES,
    LEAD_CHANNELS,
    LEAD_STATUSES,
    MODERATION_STATUSES,
    REVIEW_SIDES,
    SHARE_OUTCOMES,
    SHARE_RESPONSES,
    VETTING_STATUSES,
)

ST = {name: i for i, name in enumerate(LEAD_STATUSES)}
OUTCOME = {name: i for i, name in enumerate(SHARE_OUTCOMES)}
ACCEPTED, DECLINED, NO_RESPONSE = 0, 1, 2
ACTORS = ("homeowner", "system", "partner")
SHARES_PER_LEAD = (0.25, 0.35, 0.28, 0.12)  # 1, 2, 3 or 4 partners
REJECTED_SHARE = 0.04  # leads never shared (spam, duplicates, out of area)
DRAWS = 8  # weighted draws per lead from which up to 4 distinct partners are kept
OUT_OF_AREA = 0.02  # weight of a partner that does not serve the lead's province
CLOSE_AFTER_DAYS = 45


@dataclass
class Leads:
    n: int
    created_at: np.ndarray
    homeowner: np.ndarray  # 0-based homeowner index
    trade: np.ndarray
    service: np.ndarray
    channel: np.ndarray
    province: np.ndarray
    city: np.ndarray
    suburb: np.ndarray
    description: list[str | None]
    status: np.ndarray
    wanted: np.ndarray  # partners the lead should be shared with (0 = rejected)

    def table(self) -> TableData:
        return TableData(
            "lead",
            {
                "id": np.arange(1, self.n + 1),
                "homeowner_id": self.homeowner + 1,
                "trade_id": self.trade + 1,
                "service_type_id": self.service + 1,
                "description": self.description,
                "suburb": Cat(self.suburb, (*SUBURB_NAMES, None)),
                "city": Cat(self.city, CITY_NAMES),
                "province": Cat(self.province, PROVINCE_NAMES),
                "channel": Cat(self.channel, LEAD_CHANNELS),
                "created_at": self.created_at,
                "status": Cat(self.status, LEAD_STATUSES),
            },
        )


@dataclass
class Shares:
    lead: np.ndarray
    partner: np.ndarray
    shared_at: np.ndarray
    viewed_at: np.ndarray
    response: np.ndarray
    responded_at: np.ndarray
    first_contact_at: np.ndarray
    quoted_at: np.ndarray
    quote_amount: np.ndarray
    hired_at: np.ndarray
    completed_at: np.ndarray
    outcome: np.ndarray
    prospective: np.ndarray

    def table(self, leads: Leads) -> TableData:
        n = len(self.lead)
        return TableData(
            "lead_share",
            {
                "id": np.arange(1, n + 1),
                "lead_id": self.lead + 1,
                "partner_id": self.partner + 1,
                "trade_id": leads.trade[self.lead] + 1,
                "province": Cat(leads.province[self.lead], PROVINCE_NAMES),
                "shared_at": self.shared_at,
                "viewed_at": self.viewed_at,
                "response": Cat(self.response, (*SHARE_RESPONSES, None)),
                "responded_at": self.responded_at,
                "first_contact_at": self.first_contact_at,
                "quoted_at": self.quoted_at,
                "quote_amount": self.quote_amount,
                "hired_at": self.hired_at,
                "completed_at": self.completed_at,
                "outcome": Cat(self.outcome, SHARE_OUTCOMES),
                "partner_was_prospective": self.prospective,
            },
        )


@dataclass
class Reviews:
    lead: np.ndarray
    partner: np.ndarray
    side: np.ndarray
    rating: np.ndarray
    sub: np.ma.MaskedArray  # (n, 4): quality, timeliness, value, communication
    comment: list[str | None]
    created_at: np.ndarray
    moderation: np.ndarray
    dispute: np.ndarray

    def table(self, leads: Leads) -> TableData:
        n = len(self.lead)
        return TableData(
            "review",
            {
                "id": np.arange(1, n + 1),
                "lead_id": self.lead + 1,
                "partner_id": self.partner + 1,
                "homeowner_id": leads.homeowner[self.lead] + 1,
                "trade_id": leads.trade[self.lead] + 1,
                "author_side": Cat(self.side, REVIEW_SIDES),
                "rating": self.rating,
                "quality": self.sub[:, 0],
                "timeliness": self.sub[:, 1],
                "value": self.sub[:, 2],
                "communication": self.sub[:, 3],
                "comment": self.comment,
                "created_at": self.created_at,
                "moderation_status": Cat(self.moderation, MODERATION_STATUSES),
                "dispute": self.dispute,
            },
        )


@dataclass
class Activity:
    leads: Leads
    shares: Shares
    events: TableData
    reviews: Reviews
    close_at: np.ndarray  # per lead: when it was closed (NaT if open or still running)


def assign_homeowners(
    rng: np.random.Generator, n_leads: int, n_homeowners: int
) -> tuple[np.ndarray, np.ndarray]:
    """Homeowner index per lead (homeowners numbered by first lead) and the repeat-lead mask.

    A repeat lead belongs to a homeowner whose first lead came earlier, so every homeowner's
    first lead is also their earliest.
    """
    repeat = np.zeros(n_leads, dtype=bool)
    extra = n_leads - n_homeowners
    if extra > 0:
        repeat[1 + rng.choice(n_leads - 1, size=extra, replace=False)] = True
    new_so_far = np.cumsum(~repeat)
    owner = new_so_far - 1
    rows = np.flatnonzero(repeat)
    owner[rows] = (rng.random(len(rows)) * new_so_far[rows]).astype(np.int64)
    return owner, repeat


def _seasonal_trades(rng: np.random.Generator, created_at: np.ndarray) -> np.ndarray:
    months = created_at.astype("datetime64[M]").astype(np.int64) % 12
    share = np.array([t.share for t in TRADES])
    season = np.array([t.season for t in TRADES])  # (trades, 12)
    u = rng.random(len(created_at))
    trade = np.zeros(len(created_at), dtype=np.int64)
    for m in range(12):
        rows = np.flatnonzero(months == m)
        p = share * season[:, m]
        cdf = np.cumsum(p / p.sum())
        trade[rows] = np.minimum(np.searchsorted(cdf, u[rows], side="right"), len(TRADES) - 1)
    return trade


def _descriptions(
    rng: np.random.Generator, trade: np.ndarray, owner: np.ndarray, homeowners: Homeowners
) -> list[str | None]:
    """Free text as homeowners write it; some include a phone number or a name, as real ones do."""
    n = len(trade)
    job_pick = rng.random(n)
    extra = rng.integers(0, len(DESCRIPTION_EXTRAS), n)
    pii = rng.choice(4, size=n, p=(0.90, 0.05, 0.03, 0.02))
    # Every (job, extra) sentence exists once; a lead picks one by index, no string building.
    job_count = np.array([len(t.jobs) for t in TRADES])
    job_offset = np.cumsum(job_count) - job_count
    job = job_offset[trade] + (job_pick * job_count[trade]).astype(np.int64)
    sentences = np.array(
        [f"{j}.{e}" for t in TRADES for j in t.jobs for e in DESCRIPTION_EXTRAS], dtype=object
    )
    out = sentences[job * len(DESCRIPTION_EXTRAS) + extra]
    for i in np.flatnonzero(pii > 0).tolist():
        h = int(owner[i])
        if pii[i] == 1:
            out[i] += f" Please call me on {local_phone(homeowners.phone[h])}."
        elif pii[i] == 2:
            out[i] += f" Ask for {homeowners.first_name(h)}."
        else:
            out[i] += f" My name is {homeowners.full_name(h)}, WhatsApp is best."
    return out.tolist()


def make_leads(
    rng: np.random.Generator,
    created_at: np.ndarray,
    owner: np.ndarray,
    repeat: np.ndarray,
    homeowners: Homeowners,
) -> Leads:
    n = len(created_at)
    trade = _seasonal_trades(rng, created_at)
    service_p = np.array([t.services for t in TRADES])
    cdf = np.cumsum(service_p / service_p.sum(axis=1, keepdims=True), axis=1)
    service = (rng.random(n)[:, None] > cdf[trade]).sum(axis=1).clip(0, 3)

    names = [c for c, _ in CHANNELS_NEW]
    weights = np.array([w for _, w in CHANNELS_NEW])
    channel = np.array([LEAD_CHANNELS.index(c) for c in names])[
        rng.choice(len(names), size=n, p=weights / weights.sum())
    ]
    channel = np.where(repeat & (rng.random(n) < 0.75), LEAD_CHANNELS.index("repeat"), channel)

    wanted = rng.choice(4, size=n, p=SHARES_PER_LEAD) + 1
    wanted = np.where(rng.random(n) < REJECTED_SHARE, 0, wanted)
    return Leads(
        n=n,
        created_at=created_at,
        homeowner=owner,
        trade=trade,
        service=service,
        channel=channel,
        province=homeowners.province[owner],
        city=homeowners.city[owner],
        suburb=homeowners.suburb[owner],
        description=_descriptions(rng, trade, owner, homeowners),
        status=np.zeros(n, dtype=np.int64),
        wanted=wanted,
    )


def _choose_partners(
    rng: np.random.Generator, window: Window, leads: Leads, partners: Partners
) -> tuple[np.ndarray, np.ndarray]:
    """(lead, partner) pairs: for each lead up to ``wanted`` distinct partners of its trade.

    Per (month, trade, province) group the candidates are the trade's partners, weighted by
    capacity and quality, active that month, and strongly preferring those serving the
    province. Sampling is vectorised: a few weighted draws with replacement per lead, of
    which the first distinct ones are kept (Efraimidis-Spirakis would need a sort per lead).
    """
    n_trades, n_prov = len(TRADES), len(PROVINCE_NAMES)
    month = window.month_index(leads.created_at)
    members = [
        np.array([p for p in range(partners.n) if t in partners.trades[p]], dtype=np.int64)
        for t in range(n_trades)
    ]
    months = np.arange(24)
    active = (months[None, :] >= partners.active_from[:, None]) & (
        months[None, :] < partners.active_until[:, None]
    )
    prospective = partners.status == VETTING_STATUSES.index("prospective")
    base = partners.capacity * np.where(prospective, 0.35, 1.0)

    key = (month * n_trades + leads.trade) * n_prov + leads.province
    key = np.where(leads.wanted > 0, key, -1)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    bounds = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1], True])
    drawn = np.full((leads.n, DRAWS), -1, dtype=np.int64)
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        k = int(sorted_key[lo])
        if k < 0:
            continue
        m, rest = divmod(k, n_trades * n_prov)
        t, r = divmod(rest, n_prov)
        cand = members[t]
        area = np.where(partners.serves[cand, r], 1.0, OUT_OF_AREA)
        w = base[cand] * active[cand, m] * area
        if w.sum() <= 0:
            w = base[cand] * ~prospective[cand] * area
        if w.sum() <= 0:
            w = np.ones(len(cand))
        rows = order[lo:hi]
        drawn[rows] = cand[rng.choice(len(cand), size=(len(rows), DRAWS), p=w / w.sum())]
    # Keep the first ``wanted`` distinct partners of each lead's draws, in draw order.
    fresh = drawn >= 0
    for j in range(1, DRAWS):
        for i in range(j):
            fresh[:, j] &= drawn[:, j] != drawn[:, i]
    keep = fresh & (np.cumsum(fresh, axis=1) <= leads.wanted[:, None])
    lead, position = np.nonzero(keep)
    return lead, drawn[lead, position]


def _segment_max(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    out = np.full(n_groups, -np.inf)
    np.maximum.at(out, group, values)
    return out


def make_activity(
    rng: np.random.Generator,
    window: Window,
    leads: Leads,
    homeowners: Homeowners,
    partners: Partners,
) -> Activity:
    lead, partner = _choose_partners(rng, window, leads, partners)
    n_leads = leads.n

    # Sharing: staff verify the lead first (minutes to hours), then share it with each partner.
    verify = lognormal_seconds(rng, 40 * 60, 1.0, n_leads)
    shared_at = leads.created_at[lead] + verify[lead] + seconds(rng.uniform(0, 900, len(lead)))
    keep = shared_at < window.end
    lead, partner, shared_at = lead[keep], partner[keep], shared_at[keep]
    n = len(lead)
    q = partners.quality[partner]
    service = leads.service[lead]
    trade = leads.trade[lead]

    viewed_at = window.cap(
        after(
            shared_at,
            lognormal_seconds(rng, 25 * 60 * np.exp(-0.5 * q), 1.0, n),
            rng.random(n) < sigmoid(2.8 + 0.8 * q),
        )
    )
    responded_at = window.cap(
        after(viewed_at, lognormal_seconds(rng, 8 * 60 * np.exp(-0.3 * q), 0.9, n))
    )
    accepted = rng.random(n) < sigmoid(1.6 + 0.7 * q)
    response = np.where(np.isnat(responded_at), NO_RESPONSE, np.where(accepted, 0, 1))
    contacts = (response == ACCEPTED) & (rng.random(n) < sigmoid(2.6 + 0.9 * q))
    contact_delay = lognormal_seconds(rng, 70 * 60 * np.exp(-0.9 * q), 1.5, n)
    first_contact_at = window.cap(
        np.where(
            contacts,
            np.maximum(responded_at + np.timedelta64(60, "s"), shared_at + contact_delay),
            NAT,
        )
    )
    quote_p = np.asarray(SERVICE_QUOTE_RATE)[service] * sigmoid(1.0 + 0.5 * q) / sigmoid(1.0)
    quoted_at = window.cap(
        after(
            first_contact_at,
            lognormal_seconds(rng, 1.2 * DAY * np.exp(-0.2 * q), 0.8, n),
            rng.random(n) < quote_p,
        )
    )
    price = np.array([t.price for t in TRADES])[trade] * np.asarray(SERVICE_PRICE)[service]
    amount = np.maximum(np.round(price * np.exp(0.45 * rng.standard_normal(n)), -1), 150.0)
    quote_amount = np.where(np.isnat(quoted_at), np.nan, amount)

    # At most one hire per lead: among its quotes, the winner is drawn by partner quality.
    quoted = ~np.isnat(quoted_at)
    score = np.where(quoted, q + rng.gumbel(size=n), -np.inf)
    best = _segment_max(score, lead, n_leads)
    hires = rng.random(n_leads) < 0.62
    winner = quoted & (score == best[lead]) & hires[lead]
    hired_at = window.cap(after(quoted_at, lognormal_seconds(rng, 2 * DAY, 0.9, n), winner))
    won = ~np.isnat(hired_at)
    completes = won & (rng.random(n) < np.clip(0.86 + 0.05 * q, 0.5, 0.98))
    job_days = np.asarray(SERVICE_JOB_DAYS)[service] * DAY
    completed_at = window.cap(after(hired_at, lognormal_seconds(rng, job_days, 0.7, n), completes))

    # Per-lead milestones.
    first_shared, _ = first_per_group(lead, shared_at, n_leads)
    first_contact, contact_row = first_per_group(lead, first_contact_at, n_leads)
    first_quote, quote_row = first_per_group(lead, quoted_at, n_leads)
    hire_at, hire_row = first_per_group(lead, hired_at, n_leads)
    done_at, _ = first_per_group(lead, completed_at, n_leads)
    last_seen = leads.created_at.copy()
    for column in (shared_at, viewed_at, responded_at, first_contact_at, quoted_at, hired_at):
        last_seen = np.fmax(last_seen, max_per_group(lead, column, n_leads))
    last_seen = np.fmax(last_seen, done_at)

    reviews = _make_reviews(rng, window, leads, partners, partner, hire_row, hire_at, done_at)
    reviewed_at, _ = first_per_group(
        reviews.lead, np.where(reviews.side == 0, reviews.created_at, NAT), n_leads
    )
    reviewed_at = np.where(np.isnat(done_at), NAT, reviewed_at)

    # Closing: rejected leads close within hours; cancelled ones when the homeowner says so;
    # the rest 45 days after creation if nobody was hired.
    has_share = ~np.isnat(first_shared)
    has_hire = hire_row >= 0
    rejected = leads.wanted == 0
    reject_at = window.cap(leads.created_at + seconds(rng.uniform(3600, 2 * DAY, n_leads)))
    cancel_at = window.cap(
        np.maximum(
            leads.created_at + seconds(rng.uniform(2 * DAY, 12 * DAY, n_leads)),
            last_seen + np.timedelta64(3600, "s"),
        )
    )
    cancelled = has_share & ~has_hire & (rng.random(n_leads) < 0.05) & ~np.isnat(cancel_at)
    expire_at = window.cap(
        np.maximum(
            leads.created_at + np.timedelta64(CLOSE_AFTER_DAYS * DAY, "s"),
            last_seen + np.timedelta64(DAY, "s"),
        )
    )
    close_at = np.full(n_leads, NAT)
    close_at = np.where(rejected, reject_at, close_at)
    close_at = np.where(cancelled, cancel_at, close_at)
    close_at = np.where(has_share & ~has_hire & ~cancelled, expire_at, close_at)

    status = np.full(n_leads, ST["created"])
    status = np.where(has_share, ST["shared"], status)
    status = np.where(~np.isnat(first_contact), ST["contacted"], status)
    status = np.where(~np.isnat(first_quote), ST["quoted"], status)
    status = np.where(has_hire, ST["hired"], status)
    status = np.where(~np.isnat(done_at), ST["completed"], status)
    status = np.where(~np.isnat(reviewed_at), ST["reviewed"], status)
    status = np.where(~np.isnat(close_at), ST["closed"], status)
    leads.status = status

    outcome = np.full(n, OUTCOME["open"])
    lead_closed = ~np.isnat(close_at)[lead]
    contacted = ~np.isnat(first_contact_at)
    outcome = np.where(lead_closed & contacted, OUTCOME["lost"], outcome)
    outcome = np.where(lead_closed & ~contacted, OUTCOME["no_response"], outcome)
    outcome = np.where(cancelled[lead] & (response != DECLINED), OUTCOME["cancelled"], outcome)
    outcome = np.where(response == DECLINED, OUTCOME["lost"], outcome)
    outcome = np.where(has_hire[lead], OUTCOME["lost"], outcome)
    outcome = np.where(won, OUTCOME["won"], outcome)

    # Partners joined before their first share; shares in the vetting period were prospective.
    first_share_of, _ = first_per_group(partner, shared_at, partners.n)
    earlier = first_share_of - seconds(rng.uniform(DAY, 14 * DAY, partners.n))
    partners.joined_at = np.fmin(partners.joined_at, earlier)
    vetted_from = partners.joined_at + seconds(partners.vetting_days * DAY)
    still_prospective = partners.status == VETTING_STATUSES.index("prospective")
    prospective = still_prospective[partner] | (shared_at < vetted_from[partner])

    shares = Shares(
        lead=lead,
        partner=partner,
        shared_at=shared_at,
        viewed_at=viewed_at,
        response=response,
        responded_at=responded_at,
        first_contact_at=first_contact_at,
        quoted_at=quoted_at,
        quote_amount=quote_amount,
        hired_at=hired_at,
        completed_at=completed_at,
        outcome=outcome,
        prospective=prospective,
    )
    events = _make_events(
        leads,
        partner,
        steps=(
            ("created", leads.created_at, None, 0),
            ("shared", first_shared, None, 1),
            ("contacted", first_contact, contact_row, 2),
            ("quoted", first_quote, quote_row, 2),
            ("hired", hire_at, hire_row, 0),
            ("completed", done_at, hire_row, 2),
            ("reviewed", reviewed_at, hire_row, 0),
            ("closed", close_at, None, 1),
        ),
    )
    # Homeowners were last active at their latest lead's latest step or review (a lead that
    # the system closes later is not activity of theirs).
    homeowners.last_activity_at = np.fmax(
        homeowners.created_at, max_per_group(leads.homeowner, last_seen, homeowners.n)
    )
    review_homeowner = leads.homeowner[reviews.lead]
    homeowners.last_activity_at = np.fmax(
        homeowners.last_activity_at,
        max_per_group(review_homeowner, reviews.created_at, homeowners.n),
    )
    return Activity(leads=leads, shares=shares, events=events, reviews=reviews, close_at=close_at)


def _make_events(
    leads: Leads,
    share_partner: np.ndarray,
    steps: tuple[tuple[str, np.ndarray, np.ndarray | None, int], ...],
) -> TableData:
    """One row per status transition, in order per lead; ``from`` is the previous ``to``."""
    lead_parts, to_parts, at_parts, partner_parts, actor_parts = [], [], [], [], []
    for name, at, row, actor in steps:
        rows = np.flatnonzero(~np.isnat(at))
        lead_parts.append(rows)
        to_parts.append(np.full(len(rows), ST[name]))
        at_parts.append(at[rows])
        if row is None:
            partner_parts.append(np.full(len(rows), -1))
        else:
            partner_parts.append(np.where(row[rows] >= 0, share_partner[row[rows]], -1))
        actor_parts.append(np.full(len(rows), actor))
    lead = np.concatenate(lead_parts)
    to_status = np.concatenate(to_parts)
    order = np.lexsort((to_status, lead))
    lead, to_status = lead[order], to_status[order]
    at = np.concatenate(at_parts)[order]
    partner = np.concatenate(partner_parts)[order]
    actor = np.concatenate(actor_parts)[order]
    first = np.r_[True, lead[1:] != lead[:-1]]
    from_status = np.where(first, len(LEAD_STATUSES), np.r_[0, to_status[:-1]])
    return TableData(
        "lead_event",
        {
            "id": np.arange(1, len(lead) + 1),
            "lead_id": lead + 1,
            "partner_id": np.ma.array(partner + 1, mask=partner < 0),
            "from_status": Cat(from_status, (*LEAD_STATUSES, None)),
            "to_status": Cat(to_status, LEAD_STATUSES),
            "at": at,
            "actor": Cat(actor, ACTORS),
        },
    )


def _make_reviews(
    rng: np.random.Generator,
    window: Window,
    leads: Leads,
    partners: Partners,
    share_partner: np.ndarray,
    hire_row: np.ndarray,
    hire_at: np.ndarray,
    done_at: np.ndarray,
) -> Reviews:
    """Homeowners review most completed jobs (better partners more often), and some hires that
    never completed (badly); partners review some homeowners."""
    n_leads = leads.n
    partner = np.where(hire_row >= 0, share_partner[np.maximum(hire_row, 0)], -1)
    q = np.where(partner >= 0, partners.quality[np.maximum(partner, 0)], 0.0)
    completed = ~np.isnat(done_at)
    stalled = (hire_row >= 0) & ~completed & (hire_at < window.end - np.timedelta64(30 * DAY, "s"))

    ho_done = completed & (rng.random(n_leads) < sigmoid(0.1 + 0.3 * q))
    ho_stalled = stalled & (rng.random(n_leads) < 0.15)
    ho_at = np.where(
        ho_done,
        done_at + lognormal_seconds(rng, 2 * DAY, 1.0, n_leads),
        hire_at + seconds(rng.uniform(20 * DAY, 40 * DAY, n_leads)),
    )
    ho_at = window.cap(np.where(ho_done | ho_stalled, ho_at, NAT))
    ho_latent = np.where(
        ho_done,
        3.95 + 0.75 * q + 0.75 * rng.standard_normal(n_leads),
        1.6 + 0.3 * q + 0.7 * rng.standard_normal(n_leads),
    )
    pa = completed & (rng.random(n_leads) < 0.12)
    pa_at = window.cap(np.where(pa, done_at + lognormal_seconds(rng, DAY, 1.0, n_leads), NAT))
    pa_latent = 4.3 + 0.8 * rng.standard_normal(n_leads)

    ho_rows = np.flatnonzero(~np.isnat(ho_at))
    pa_rows = np.flatnonzero(~np.isnat(pa_at))
    lead = np.concatenate([ho_rows, pa_rows])
    side = np.concatenate([np.zeros(len(ho_rows), np.int64), np.ones(len(pa_rows), np.int64)])
    latent = np.concatenate([ho_latent[ho_rows], pa_latent[pa_rows]])
    created = np.concatenate([ho_at[ho_rows], pa_at[pa_rows]])
    order = np.lexsort((side, lead, created.astype(np.int64)))
    lead, side, latent, created = lead[order], side[order], latent[order], created[order]
    n = len(lead)

    rating = np.clip(np.rint(latent), 1, 5).astype(np.int64)
    sub = np.clip(np.rint(latent[:, None] + 0.6 * rng.standard_normal((n, 4))), 1, 5)
    sub_mask = np.zeros((n, 4), dtype=bool)
    sub_mask[:] = (rng.random(n) >= 0.75)[:, None]
    sub_mask[side == 1, :3] = True
    sub_mask[side == 1, 3] = rng.random(int((side == 1).sum())) >= 0.5
    sub = np.ma.array(sub.astype(np.int64), mask=sub_mask)

    comment_pick = rng.random(n)
    has_comment = rng.random(n) < np.where(side == 0, 0.7, 0.6)
    comments: list[str | None] = []
    for s, r, pick, has in zip(
        side.tolist(), rating.tolist(), comment_pick.tolist(), has_comment.tolist(), strict=True
    ):
        if not has:
            comments.append(None)
            continue
        pool = (
            COMMENTS_ABOUT_HOMEOWNER
            if s == 1
            else COMMENTS_GOOD
            if r >= 4
            else COMMENTS_MIXED
            if r == 3
            else COMMENTS_BAD
        )
        comments.append(pool[int(pick * len(pool))])

    low = rating <= 2
    u = rng.random(n)
    moderation = np.where(
        u < np.where(low, 0.10, 0.02), 2, np.where(u < np.where(low, 0.16, 0.05), 1, 0)
    )
    dispute = (side == 0) & (rng.random(n) < np.where(low, 0.25, 0.005))
    partner_of_lead = partner[lead]
    return Reviews(
        lead=lead,
        partner=partner_of_lead,
        side=side,
        rating=rating,
        sub=sub,
        comment=comments,
        created_at=created,
        moderation=moderation,
        dispute=dispute,
    )


def make_interactions(
    rng: np.random.Generator,
    window: Window,
    leads: Leads,
    shares: Shares,
    reviews: Reviews,
) -> TableData:
    """Calls, emails and WhatsApp messages: lead verification by staff, partner contact through
    the platform, quality-control calls, and calls about disputes. Many calls are recorded."""
    call, email, whatsapp = (INTERACTION_CHANNELS.index(c) for c in ("call", "email", "whatsapp"))
    purpose_id = {p: i for i, p in enumerate(INTERACTION_PURPOSES)}
    parties = ("homeowner-staff", "homeowner-partner", "partner-staff")
    parts: list[dict[str, np.ndarray]] = []

    def add(lead, partner, channel, party, at, purpose, record_p):
        k = len(lead)
        recorded = (channel == call) & (rng.random(k) < record_p)
        parts.append(
            {
                "lead": lead,
                "partner": partner,
                "channel": channel,
                "parties": np.full(k, party),
                "at": at,
                "purpose": purpose,
                "recorded": recorded,
                "duration": np.where(
                    channel == call, np.rint(180 * np.exp(0.6 * rng.standard_normal(k))), -1
                ).astype(np.int64),
            }
        )

    n_leads = leads.n
    rows = np.flatnonzero(rng.random(n_leads) < 0.30)
    at = window.cap(leads.created_at[rows] + lognormal_seconds(rng, 15 * 60, 0.8, len(rows)))
    rows, at = rows[~np.isnat(at)], at[~np.isnat(at)]
    channel = rng.choice([call, whatsapp, email], size=len(rows), p=(0.6, 0.3, 0.1))
    purpose = np.where(rng.random(len(rows)) < 0.04, purpose_id["training"], purpose_id["service"])
    add(rows, np.full(len(rows), -1), channel, 0, at, purpose, 0.55)

    contacted = np.flatnonzero(~np.isnat(shares.first_contact_at))
    rows = contacted[rng.random(len(contacted)) < 0.12]
    channel = rng.choice([call, whatsapp], size=len(rows), p=(0.7, 0.3))
    add(
        shares.lead[rows],
        shares.partner[rows],
        channel,
        1,
        shares.first_contact_at[rows],
        np.full(len(rows), purpose_id["service"]),
        0.25,
    )

    viewed = np.flatnonzero(~np.isnat(shares.viewed_at))
    rows = viewed[rng.random(len(viewed)) < 0.02]
    at = window.cap(shares.shared_at[rows] + seconds(rng.uniform(DAY, 10 * DAY, len(rows))))
    rows, at = rows[~np.isnat(at)], at[~np.isnat(at)]
    add(
        shares.lead[rows],
        shares.partner[rows],
        np.full(len(rows), call),
        2,
        at,
        np.full(len(rows), purpose_id["quality_control"]),
        0.85,
    )

    rows = np.flatnonzero(reviews.dispute)
    for party in (0, 2):
        at = window.cap(reviews.created_at[rows] + seconds(rng.uniform(DAY, 5 * DAY, len(rows))))
        ok = ~np.isnat(at)
        add(
            reviews.lead[rows[ok]],
            reviews.partner[rows[ok]],
            np.full(int(ok.sum()), call),
            party,
            at[ok],
            np.full(int(ok.sum()), purpose_id["dispute"]),
            0.9,
        )

    merged = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    order = np.argsort(merged["at"], kind="stable")
    merged = {key: value[order] for key, value in merged.items()}
    n = len(order)
    ids = np.arange(1, n + 1)
    recorded = merged["recorded"]
    months = np.datetime_as_string(merged["at"][recorded], unit="M").tolist()
    refs: list[str | None] = [None] * n
    for i, month in zip(np.flatnonzero(recorded).tolist(), months, strict=True):
        refs[i] = f"recordings/{month}/call-{i + 1:08d}.ogg"
    notes: list[str | None] = [None] * n
    purpose = merged["purpose"]
    for name, text in INTERACTION_NOTES.items():
        for i in np.flatnonzero(purpose == purpose_id[name]).tolist():
            notes[i] = text
    lead = merged["lead"]
    partner = merged["partner"]
    duration = merged["duration"]
    return TableData(
        "interaction",
        {
            "id": ids,
            "lead_id": lead + 1,
            "homeowner_id": np.ma.array(leads.homeowner[lead] + 1, mask=merged["parties"] == 2),
            "partner_id": np.ma.array(partner + 1, mask=partner < 0),
            "channel": Cat(merged["channel"], INTERACTION_CHANNELS),
            "parties": Cat(merged["parties"], parties),
            "at": merged["at"],
            "duration_s": np.ma.array(np.maximum(duration, 0), mask=duration < 0),
            "recorded": recorded,
            "recording_ref": refs,
            "purpose": Cat(purpose, INTERACTION_PURPOSES),
            "notes": notes,
        },
    )
