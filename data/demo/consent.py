"""Consent histories, opt-outs and erasures outside the request desk, and the suppression list.

Consent is an append-only log: grants when someone signs up (the request form, the cookie
banner, the recorded-call script), later withdrawals at realistic rates (about one in five
marketing-email subscribers unsubscribes), the odd re-grant, and the withdrawals that completed
privacy requests imply. Erased people have no consent history left: it is replaced by a
suppression entry, as the erasure procedure does.
"""

from __future__ import annotations

import numpy as np

from data.demo.bulk import Cat, TableData
from data.demo.people import Homeowners, Partners
from data.demo.privacy import PrivacyOutcome
from data.demo.timeline import DAY, Window, seconds
from data.demo.vocab import CONSENT_EVIDENCE
from data.do_not_contact import suppression_digest
from data.models import CONSENT_PURPOSES, CONSENT_SOURCES, SUBJECT_TYPES

P = {name: i for i, name in enumerate(CONSENT_PURPOSES)}
S = {name: i for i, name in enumerate(CONSENT_SOURCES)}
EVIDENCE = tuple(e for source in CONSENT_SOURCES for e in CONSENT_EVIDENCE[source])
EVIDENCE_START = {source: EVIDENCE.index(CONSENT_EVIDENCE[source][0]) for source in CONSENT_SOURCES}

# purpose: (grant probability, source of the grant, withdrawal probability, its source)
HOMEOWNER_CONSENT = {
    "service_contact": (1.0, "web_form", 0.0, "email"),
    "share_with_partners": (1.0, "web_form", 0.0, "email"),
    "marketing_email": (0.45, "web_form", 0.20, "email"),
    "marketing_phone": (0.10, "web_form", 0.15, "phone"),
    "marketing_whatsapp": (0.30, "web_form", 0.12, "web_form"),
    "analytics_tracking": (0.60, "cookie_banner", 0.08, "cookie_banner"),
    "ad_cookies": (0.35, "cookie_banner", 0.15, "cookie_banner"),
    "call_recording": (0.40, "phone", 0.03, "phone"),
}
REQUEST_WITHDRAWS = {
    "service_opt_out": ("service_contact", "share_with_partners"),
    "objection": ("marketing_email", "marketing_phone", "marketing_whatsapp"),
    "analytics_opt_out": ("analytics_tracking", "ad_cookies"),
}


def add_retention_and_opt_outs(
    rng: np.random.Generator,
    window: Window,
    homeowners: Homeowners,
    outcome: PrivacyOutcome,
    erasures: int,
    opt_outs: int,
) -> tuple[dict[int, np.datetime64], dict[int, np.datetime64]]:
    """Erasures done earlier (retention, old requests) and opt-outs by email or phone.

    Returns the extra erasures and opt-outs; erasures are also added to ``outcome.erased``.
    People named in open requests, or under a legal hold, are left alone.
    """
    taken = set(outcome.subjects) | set(outcome.erased) | set(outcome.service_opt_out)
    if outcome.legal_hold is not None:
        taken.add(outcome.legal_hold)
    free = np.ones(homeowners.n, dtype=bool)
    free[sorted(taken)] = False
    idle = np.flatnonzero(
        free & (homeowners.last_activity_at < window.end - np.timedelta64(60 * DAY, "s"))
    )
    chosen = rng.choice(idle, size=min(erasures, len(idle)), replace=False)
    chosen.sort()
    lo = homeowners.last_activity_at[chosen] + np.timedelta64(7 * DAY, "s")
    erased_at = window.uniform(rng, lo, len(chosen))
    extra_erased = dict(zip(chosen.tolist(), erased_at, strict=True))
    outcome.erased.update(extra_erased)

    free[chosen] = False
    pool = np.flatnonzero(free)
    chosen = rng.choice(pool, size=min(opt_outs, len(pool)), replace=False)
    chosen.sort()
    lo = homeowners.last_activity_at[chosen] + np.timedelta64(DAY, "s")
    at = window.uniform(rng, lo, len(chosen))
    extra_opt_outs = dict(zip(chosen.tolist(), at, strict=True))
    return extra_erased, extra_opt_outs


def _privacy_withdrawals(
    outcome: PrivacyOutcome, extra_opt_outs: dict[int, np.datetime64]
) -> list[tuple[int, int, np.datetime64, int]]:
    """(homeowner, purpose, at, source) withdrawals implied by requests and opt-outs."""
    rows = []
    for kind, purposes in REQUEST_WITHDRAWS.items():
        for h, at in sorted(getattr(outcome, kind).items()):
            rows += [(h, P[p], at, S["privacy_request"]) for p in purposes]
    for h, at in sorted(extra_opt_outs.items()):
        source = S["email"] if h % 2 else S["phone"]
        rows += [(h, P[p], at, source) for p in REQUEST_WITHDRAWS["service_opt_out"]]
    return rows


def make_consent(
    rng: np.random.Generator,
    window: Window,
    homeowners: Homeowners,
    partners: Partners,
    outcome: PrivacyOutcome,
    extra_opt_outs: dict[int, np.datetime64],
) -> TableData:
    n = homeowners.n
    alive = np.ones(n, dtype=bool)
    alive[list(outcome.erased)] = False
    decided = np.zeros((n, len(CONSENT_PURPOSES)), dtype=bool)  # by a request or opt-out
    privacy = _privacy_withdrawals(outcome, extra_opt_outs)
    for h, p, _at, _source in privacy:
        decided[h, p] = True

    subject, purpose, granted, at, source, evidence = [], [], [], [], [], []

    def add(who, what, yes, when, src, ev_index):
        subject.append(who)
        purpose.append(np.full(len(who), what))
        granted.append(np.full(len(who), yes))
        at.append(when)
        source.append(np.full(len(who), S[src]))
        evidence.append(ev_index)

    def evidence_for(src: str, k: int) -> np.ndarray:
        options = len(CONSENT_EVIDENCE[src])
        return EVIDENCE_START[src] + rng.integers(0, options, k)

    created = homeowners.created_at
    for name, (grant_p, grant_src, withdraw_p, withdraw_src) in HOMEOWNER_CONSENT.items():
        p = P[name]
        chance = grant_p * (homeowners.whatsapp if name == "marketing_whatsapp" else 1.0)
        rows = np.flatnonzero(alive & (rng.random(n) < chance))
        if grant_src == "cookie_banner":
            when = window.clamp_start(created[rows] - seconds(rng.uniform(10, 600, len(rows))))
        elif grant_src == "phone":
            when = created[rows] + seconds(rng.uniform(300, 7200, len(rows)))
            when = np.minimum(when, window.end - np.timedelta64(1, "s"))
        else:
            when = created[rows]
        add(rows, p, True, when, grant_src, evidence_for(grant_src, len(rows)))
        if withdraw_p <= 0:
            continue
        leave = ~decided[rows, p] & (rng.random(len(rows)) < withdraw_p)
        leave &= when < window.end - np.timedelta64(2 * DAY, "s")
        gone = rows[leave]
        gone_at = window.uniform(rng, when[leave] + np.timedelta64(DAY, "s"), len(gone))
        add(gone, p, False, gone_at, withdraw_src, evidence_for(withdraw_src, len(gone)))
        if name == "marketing_email":
            back = (rng.random(len(gone)) < 0.05) & (
                gone_at < window.end - np.timedelta64(2 * DAY, "s")
            )
            back_at = window.uniform(rng, gone_at[back] + np.timedelta64(DAY, "s"), int(back.sum()))
            add(gone[back], p, True, back_at, "web_form", evidence_for("web_form", len(back_at)))

    if privacy:
        who = np.array([r[0] for r in privacy], dtype=np.int64)
        what = np.array([r[1] for r in privacy], dtype=np.int64)
        when = np.array([r[2] for r in privacy], dtype="datetime64[s]")
        src = np.array([r[3] for r in privacy], dtype=np.int64)
        subject.append(who)
        purpose.append(what)
        granted.append(np.zeros(len(who), dtype=bool))
        at.append(when)
        source.append(src)
        evidence.append(np.array([EVIDENCE_START[CONSENT_SOURCES[s]] for s in src.tolist()]))

    kind = [np.zeros(sum(len(s) for s in subject), dtype=np.int64)]
    m = partners.n
    for name, grant_p, withdraw_p in (
        ("service_contact", 1.0, 0.0),
        ("marketing_email", 0.6, 0.10),
        ("call_recording", 0.7, 0.0),
    ):
        rows = np.flatnonzero(rng.random(m) < grant_p)
        when = partners.joined_at[rows]
        add(rows, P[name], True, when, "web_form", evidence_for("web_form", len(rows)))
        kind.append(np.ones(len(rows), dtype=np.int64))
        if withdraw_p:
            gone = rows[rng.random(len(rows)) < withdraw_p]
            gone_at = window.uniform(
                rng, partners.joined_at[gone] + np.timedelta64(DAY, "s"), len(gone)
            )
            add(gone, P[name], False, gone_at, "email", evidence_for("email", len(gone)))
            kind.append(np.ones(len(gone), dtype=np.int64))

    subject_all = np.concatenate(subject)
    purpose_all = np.concatenate(purpose)
    at_all = np.concatenate(at).astype("datetime64[s]")
    kind_all = np.concatenate(kind)
    order = np.lexsort((purpose_all, subject_all, kind_all, at_all.astype(np.int64)))
    return TableData(
        "consent_event",
        {
            "id": np.arange(1, len(order) + 1),
            "subject_type": Cat(kind_all[order], SUBJECT_TYPES),
            "subject_id": subject_all[order] + 1,
            "purpose": Cat(purpose_all[order], CONSENT_PURPOSES),
            "granted": np.concatenate(granted)[order],
            "at": at_all[order],
            "source": Cat(np.concatenate(source)[order], CONSENT_SOURCES),
            "evidence": Cat(np.concatenate(evidence)[order], EVIDENCE),
        },
    )


def make_suppression(
    homeowners: Homeowners,
    erased: dict[int, np.datetime64],
    opt_outs: dict[int, np.datetime64],
    key: bytes,
) -> TableData:
    """HMAC digests of the email and phone of everyone erased or opted out of the service.

    Must run before the erasure nulls the identifiers it needs.
    """
    rows = []
    for reason, people in (("erasure", erased), ("service_opt_out", opt_outs)):
        for h, at in people.items():
            for kind, value in (("email", homeowners.email[h]), ("phone", homeowners.phone[h])):
                if value:
                    rows.append((at, kind, suppression_digest(kind, value, key), reason))
    rows.sort(key=lambda r: (r[0], r[2]))
    return TableData(
        "suppression",
        {
            "id": np.arange(1, len(rows) + 1),
            "kind": [r[1] for r in rows],
            "digest": [r[2] for r in rows],
            "reason": [r[3] for r in rows],
            "created_at": np.array([r[0] for r in rows], dtype="datetime64[s]"),
        },
    )
