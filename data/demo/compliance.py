"""What the compliance monitor finds in the demo: a business that mostly keeps its promises.

Applied to the generated tables before they are loaded (``data.demo.build``):

* recordings follow consent: a call is recorded only when the homeowner's ``call_recording``
  consent stood at that moment, except a few (about one in :data:`UNCONSENTED_KEPT_EVERY`
  of the calls that should not have been recorded, at least two) that were recorded anyway;
* the retention sweep ran :data:`SWEEP_DAYS_AGO` days ago: recordings older than six months
  then are cleared (reference gone, ``recorded`` off), those that became due since are not;
* a few marketing emails: to people who had opted in (most), and a few to people who had
  withdrawn ``marketing_email`` (at least two);
* a couple of erased people come back as new homeowners with their old email address (the
  suppression list recognises them), lately (within :data:`REAPPEARING_WITHIN_DAYS` of the
  newest homeowner), so that the page's default period, the last 90 days, shows them;
* a couple of homeowners withdraw ``share_with_partners`` (by email) shortly before one of their
  leads is shared anyway, lately (the generated withdrawals mostly come after the shares:
  none at 2 000 leads, one at 20 000 or 1M in 90 days).

Access requests past their due date occur in the generated data already. Consent states are
read the way :mod:`data.consent.current` defines them: the latest event at or before the
instant, ties to the later-recorded event.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from data.demo.activity import Shares
from data.demo.bulk import Cat, TableData
from data.demo.people import Homeowners
from data.demo.timeline import DAY, Window
from data.demo.vocab import CONSENT_EVIDENCE
from data.erasure.retention import RULE_BY_CODE, cutoff
from data.models import (
    CONSENT_PURPOSES,
    CONSENT_SOURCES,
    INTERACTION_CHANNELS,
    INTERACTION_PURPOSES,
)

UNCONSENTED_KEPT_EVERY = 400
SWEEP_DAYS_AGO = 10
MARKETING_SHARE = 0.02
BREACH_SHARE = 0.01
REAPPEARING = 2
REAPPEARING_WITHIN_DAYS = 60
SHARED_AFTER_WITHDRAWAL = 2


class ConsentStates:
    """Latest consent event per (homeowner, purpose) at given instants, from the generated
    ``consent_event`` table (homeowners only)."""

    def __init__(self, consent: TableData, purpose: str) -> None:
        cols = consent.columns
        kind = np.asarray(cols["subject_type"].codes)
        code = CONSENT_PURPOSES.index(purpose)
        mask = (kind == 0) & (np.asarray(cols["purpose"].codes) == code)
        self.subject = np.asarray(cols["subject_id"])[mask].astype(np.int64)
        self.at = np.asarray(cols["at"])[mask].astype("datetime64[s]").astype(np.int64)
        self.granted = np.asarray(cols["granted"])[mask].astype(bool)
        ids = np.asarray(cols["id"])[mask]
        order = np.lexsort((ids, self.at, self.subject))
        self.subject, self.at = self.subject[order], self.at[order]
        self.granted = self.granted[order]
        self.key = self.subject * (1 << 34) + self.at

    def granted_at(self, homeowner_id: np.ndarray, at: np.ndarray) -> np.ndarray:
        """-1 never asked, 0 withdrawn, 1 granted, per (1-based homeowner id, instant)."""
        probe = homeowner_id.astype(np.int64) * (1 << 34) + at.astype("datetime64[s]").astype(
            np.int64
        )
        idx = np.searchsorted(self.key, probe, side="right") - 1
        found = (idx >= 0) & (self.subject[np.maximum(idx, 0)] == homeowner_id)
        return np.where(found, self.granted[np.maximum(idx, 0)].astype(np.int64), -1)


def honour_recording_consent(
    rng: np.random.Generator,
    window: Window,
    consent: TableData,
    interactions: TableData,
    erased: set[int],
) -> None:
    cols = interactions.columns
    recorded = np.asarray(cols["recorded"]).copy()
    owner = np.ma.filled(cols["homeowner_id"], 0)
    at = np.asarray(cols["at"]).astype("datetime64[s]")
    as_of = datetime.combine(window.as_of, datetime.min.time())
    rule = RULE_BY_CODE["recordings"]
    swept = np.datetime64(cutoff(rule, rule.default, as_of), "s") - np.timedelta64(
        SWEEP_DAYS_AGO * DAY, "s"
    )
    rows = np.flatnonzero(recorded & (owner > 0))
    state = ConsentStates(consent, "call_recording").granted_at(owner[rows], at[rows])
    bad = rows[state != 1]
    alive = np.array([int(o) - 1 not in erased for o in owner[bad].tolist()], dtype=bool)
    alive &= at[bad] >= swept  # the kept ones are recent: the sweep has not cleared them
    bad_alive = bad[alive] if len(bad) else bad
    keep = max(2, len(bad) // UNCONSENTED_KEPT_EVERY)
    kept = (
        rng.choice(bad_alive, size=min(keep, len(bad_alive)), replace=False)
        if len(bad_alive)
        else bad_alive
    )
    off = np.setdiff1d(bad, kept)
    off = np.union1d(off, np.flatnonzero(recorded & (at < swept)))
    recorded[off] = False
    refs = cols["recording_ref"]
    for i in off.tolist():
        refs[i] = None
    cols["recorded"] = recorded


def _append(interactions: TableData, extra: dict[str, np.ndarray]) -> None:
    """Add marketing emails (homeowner ↔ staff, no partner, not recorded, no notes)."""
    cols = interactions.columns
    k = len(extra["at"])
    n = len(interactions)
    order = np.argsort(extra["at"], kind="stable")
    staff_party = cols["parties"].labels.index("homeowner-staff")

    def masked(column, values, mask):
        return np.ma.concatenate([np.ma.asarray(column), np.ma.array(values, mask=mask)])

    cols["id"] = np.concatenate([np.asarray(cols["id"]), np.arange(n + 1, n + k + 1)])
    cols["lead_id"] = np.concatenate([np.asarray(cols["lead_id"]), extra["lead_id"][order]])
    cols["homeowner_id"] = masked(cols["homeowner_id"], extra["homeowner_id"][order],
                                  np.zeros(k, dtype=bool))  # fmt: skip
    cols["partner_id"] = masked(cols["partner_id"], np.zeros(k, dtype=np.int64),
                                np.ones(k, dtype=bool))  # fmt: skip
    email = INTERACTION_CHANNELS.index("email")
    marketing = INTERACTION_PURPOSES.index("marketing")
    cols["channel"] = Cat(np.concatenate([cols["channel"].codes, np.full(k, email)]),
                          cols["channel"].labels)  # fmt: skip
    cols["parties"] = Cat(np.concatenate([cols["parties"].codes, np.full(k, staff_party)]),
                          cols["parties"].labels)  # fmt: skip
    cols["at"] = np.concatenate([np.asarray(cols["at"]), extra["at"][order]])
    cols["duration_s"] = masked(cols["duration_s"], np.zeros(k, dtype=np.int64),
                                np.ones(k, dtype=bool))  # fmt: skip
    cols["recorded"] = np.concatenate([np.asarray(cols["recorded"]), np.zeros(k, dtype=bool)])
    cols["recording_ref"] = list(cols["recording_ref"]) + [None] * k
    cols["purpose"] = Cat(np.concatenate([cols["purpose"].codes, np.full(k, marketing)]),
                          INTERACTION_PURPOSES)  # fmt: skip
    cols["notes"] = list(cols["notes"]) + [None] * k


def add_marketing_emails(
    rng: np.random.Generator,
    window: Window,
    consent: TableData,
    interactions: TableData,
    lead_homeowner: np.ndarray,
    erased: set[int],
) -> None:
    states = ConsentStates(consent, "marketing_email")
    end = window.end.astype(np.int64)
    first_lead = {}
    for lead, owner in enumerate(lead_homeowner.tolist()):
        first_lead.setdefault(owner + 1, lead + 1)
    picked_owner: list[np.ndarray] = []
    picked_at: list[np.ndarray] = []
    for granted, share, floor in ((True, MARKETING_SHARE, 5), (False, BREACH_SHARE, 2)):
        events = np.flatnonzero(states.granted == granted)
        events = events[[int(s) - 1 not in erased for s in states.subject[events].tolist()]]
        k = min(len(events), max(floor, round(len(events) * share)))
        chosen = rng.choice(events, size=k, replace=False) if k else events
        at = states.at[chosen] + rng.integers(DAY, 30 * DAY, len(chosen))
        owner = states.subject[chosen]
        ok = at < end
        # Keep only sends whose state at that moment is the one meant (no re-grant between).
        want = 1 if granted else 0
        ok &= states.granted_at(owner, at.astype("datetime64[s]")) == want
        picked_owner.append(owner[ok])
        picked_at.append(at[ok])
    owners = np.concatenate(picked_owner)
    at = np.concatenate(picked_at).astype("datetime64[s]")
    lead_id = np.array([first_lead.get(int(o), 1) for o in owners.tolist()], dtype=np.int64)
    _append(interactions, {"homeowner_id": owners, "lead_id": lead_id, "at": at})


def reappear_after_erasure(
    rng: np.random.Generator,
    homeowners: Homeowners,
    erased: dict[int, np.datetime64],
    taken: set[int],
) -> None:
    """Give a few homeowners created lately and a day or more after an erasure the erased
    person's email address (before the erasure clears it). ``taken``: people left alone
    (requests, holds)."""
    by_creation = np.argsort(homeowners.created_at, kind="stable")
    created = homeowners.created_at[by_creation]
    lately = created.max() - np.timedelta64(REAPPEARING_WITHIN_DAYS * DAY, "s")
    recent = int(np.searchsorted(created, lately, side="left"))
    done = 0
    for h in rng.permutation(sorted(h for h in erased if homeowners.email[h])).tolist():
        after = int(np.searchsorted(created, erased[h] + np.timedelta64(DAY, "s"), side="right"))
        first = max(after, recent)
        if first >= len(created):
            continue
        for _try in range(5):
            newcomer = int(by_creation[rng.integers(first, len(created))])
            if newcomer not in taken and newcomer not in erased:
                break
        else:
            continue
        homeowners.email[newcomer] = homeowners.email[h]
        taken.add(newcomer)
        done += 1
        if done == REAPPEARING:
            return


def share_after_withdrawal(
    rng: np.random.Generator,
    window: Window,
    consent: TableData,
    shares: Shares,
    lead_homeowner: np.ndarray,
    left_alone: set[int],
) -> None:
    """Append a ``share_with_partners`` withdrawal (an emailed "stop"), an hour to two days
    before one of their recent shares, for :data:`SHARED_AFTER_WITHDRAWAL` homeowners whose
    consent stood granted then and at the share (so the withdrawal is the state at the share).
    ``left_alone``: 0-based homeowners not to use (erased, with requests)."""
    states = ConsentStates(consent, "share_with_partners")
    lately = window.end - np.timedelta64(REAPPEARING_WITHIN_DAYS * DAY, "s")
    recent = rng.permutation(np.flatnonzero(shares.shared_at >= lately))
    owner = lead_homeowner[shares.lead[recent]] + 1
    shared = shares.shared_at[recent].astype("datetime64[s]")
    before = shared - rng.integers(3600, 2 * DAY, len(recent)).astype("timedelta64[s]")
    ok = (states.granted_at(owner, before) == 1) & (states.granted_at(owner, shared) == 1)
    picked: dict[int, np.datetime64] = {}
    for i in np.flatnonzero(ok).tolist():
        h = int(owner[i])
        if h - 1 not in left_alone and h not in picked:
            picked[h] = before[i]
        if len(picked) == SHARED_AFTER_WITHDRAWAL:
            break
    k = len(picked)
    cols = consent.columns
    n = len(consent)

    def cat(name: str, code: int) -> Cat:
        return Cat(np.concatenate([cols[name].codes, np.full(k, code)]), cols[name].labels)

    cols["id"] = np.concatenate([np.asarray(cols["id"]), np.arange(n + 1, n + k + 1)])
    cols["subject_type"] = cat("subject_type", 0)  # homeowner
    cols["subject_id"] = np.concatenate([np.asarray(cols["subject_id"]), list(picked)])
    cols["purpose"] = cat("purpose", CONSENT_PURPOSES.index("share_with_partners"))
    cols["granted"] = np.concatenate([np.asarray(cols["granted"]), np.zeros(k, dtype=bool)])
    cols["at"] = np.concatenate([np.asarray(cols["at"]), np.array(list(picked.values()))])
    cols["source"] = cat("source", CONSENT_SOURCES.index("email"))
    stop = cols["evidence"].labels.index(CONSENT_EVIDENCE["email"][-1])
    cols["evidence"] = cat("evidence", stop)
