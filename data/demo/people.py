"""Homeowners and partners: who they are, where they live or work, how they are reached.

Contact details are unique and already normalised (lower-case emails, ``+27XXXXXXXXX`` phones)
as the application stores them, so that privacy-request matching in the demo behaves as it will
on real data. Phones are unique because every person gets a distinct 7-digit tail (drawn
without replacement); emails are de-duplicated with a counter per local part.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.demo.bulk import Cat, TableData
from data.demo.timeline import DAY, NAT, Window, seconds
from data.demo.vocab import (
    BUSINESS_PLACES,
    BUSINESS_SUFFIXES,
    COMPLEX_NAMES,
    EMAIL_DOMAINS,
    FEMALE_NAMES,
    MAIN_SITE,
    MALE_NAMES,
    MOBILE_PREFIXES,
    STREET_NAMES,
    STREET_TYPES,
    SUB_BRAND_SITES,
    SURNAMES,
    TRADES,
    WORKING_PREFERENCES,
)
from data.geography import CITIES, PROVINCE_NAMES, PROVINCE_NEIGHBOURS, PROVINCES, province_weights
from data.models import GENDERS, PROPERTY_TYPES, VETTING_STATUSES

PROPERTY_WEIGHTS = (0.58, 0.18, 0.16, 0.03, 0.05)

CITY_NAMES = tuple(c.name for c in CITIES)
CITY_PROVINCE = np.array([PROVINCE_NAMES.index(c.province) for c in CITIES])
SUBURB_NAMES = tuple(s.name for c in CITIES for s in c.suburbs)
SUBURB_POSTCODES = tuple(s.postal_code for c in CITIES for s in c.suburbs)
SUBURB_OFFSET = np.cumsum([0] + [len(c.suburbs) for c in CITIES])[:-1]
SUBURB_COUNT = np.array([len(c.suburbs) for c in CITIES])


def slug(text: str) -> str:
    """ASCII lower-case letters and digits only: names as they appear in email addresses."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def local_phone(e164: str) -> str:
    """``+27821234567`` as people write it: ``082 123 4567``."""
    national = "0" + e164[3:]
    return f"{national[:3]} {national[3:6]} {national[6:]}"


def pick_places(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Province, city and suburb indices for ``n`` people, weighted by population."""
    province = rng.choice(len(PROVINCES), size=n, p=province_weights())
    city = np.zeros(n, dtype=np.int64)
    u = rng.random(n)
    for p in range(len(PROVINCES)):
        rows = np.flatnonzero(province == p)
        candidates = np.flatnonzero(p == CITY_PROVINCE)
        weights = np.array([CITIES[c].weight for c in candidates])
        cdf = np.cumsum(weights / weights.sum())
        city[rows] = candidates[np.minimum(np.searchsorted(cdf, u[rows]), len(cdf) - 1)]
    suburb = SUBURB_OFFSET[city] + (rng.random(n) * SUBURB_COUNT[city]).astype(np.int64)
    return province, city, suburb


def _strings(values: list[str] | tuple[str, ...]) -> np.ndarray:
    return np.array(values, dtype=object)


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal strings of non-negative integers, without a Python loop."""
    matrix = np.empty((len(values), width), dtype=np.uint8)
    rest = values.astype(np.int64)
    for k in range(width - 1, -1, -1):
        matrix[:, k] = 48 + rest % 10
        rest = rest // 10
    return matrix.view(f"S{width}").ravel().astype(f"U{width}").astype(object)


def unique_phones(rng: np.random.Generator, tails: np.ndarray) -> list[str]:
    """SA mobile numbers ending in the given distinct 7-digit tails (so they are distinct too)."""
    prefixes = _strings(["+27" + p for p in MOBILE_PREFIXES])
    chosen = prefixes[rng.integers(0, len(MOBILE_PREFIXES), len(tails))]
    return (chosen + _digits(tails, 7)).tolist()


def unique_emails(locals_: np.ndarray, domains: np.ndarray) -> list[str]:
    """``local@domain`` made unique by numbering repeats in order (``thabo.nkosi2@…``)."""
    address = locals_ + "@" + domains
    repeat = pd.Series(address).groupby(address, sort=False).cumcount().to_numpy()
    again = np.flatnonzero(repeat > 0)
    numbers = _strings([str(k + 1) for k in repeat[again].tolist()])
    address[again] = locals_[again] + numbers + "@" + domains[again]
    out = address.tolist()
    clash = np.flatnonzero(pd.Series(out).duplicated().to_numpy())
    if len(clash):  # a numbered address someone already had: count on from there
        seen = set(out)
        for i in clash.tolist():
            k = int(repeat[i]) + 1
            while f"{locals_[i]}{k}@{domains[i]}" in seen:
                k += 1
            out[i] = f"{locals_[i]}{k}@{domains[i]}"
            seen.add(out[i])
    return out


@dataclass
class Homeowners:
    n: int
    first: np.ndarray  # index into the gender's first-name list
    female: np.ndarray
    surname: np.ndarray
    gender_code: np.ndarray  # index into GENDERS
    gender_known: np.ndarray
    birth_year: np.ma.MaskedArray
    property_code: np.ma.MaskedArray
    province: np.ndarray
    city: np.ndarray
    suburb: np.ndarray
    email: list[str | None]
    phone: list[str | None]
    street: list[str | None]
    whatsapp: np.ndarray
    created_at: np.ndarray
    last_activity_at: np.ndarray
    source_site: np.ndarray  # 0 main, 1.. sub-brand sites
    erased_at: np.ndarray
    legal_hold: list[str | None]

    def first_name(self, i: int) -> str:
        return (FEMALE_NAMES if self.female[i] else MALE_NAMES)[self.first[i]]

    def last_name(self, i: int) -> str:
        return SURNAMES[self.surname[i]]

    def full_name(self, i: int) -> str:
        return f"{self.first_name(i)} {self.last_name(i)}"

    def erase(self, rows: np.ndarray, at: np.ndarray) -> None:
        """Apply the erasure outcome: identifying fields gone, statistics fields kept."""
        self.erased_at[rows] = at
        for i in rows.tolist():
            self.email[i] = None
            self.phone[i] = None
            self.street[i] = None
        self.birth_year[rows] = np.ma.masked
        self.gender_known[rows] = False

    def table(self) -> TableData:
        erased = ~np.isnat(self.erased_at)
        first_names = np.array(FEMALE_NAMES + MALE_NAMES, dtype=object)
        first_idx = np.where(self.female, self.first, len(FEMALE_NAMES) + self.first)
        first = first_names[first_idx]
        last = np.array(SURNAMES, dtype=object)[self.surname]
        first[erased] = None
        last[erased] = None
        n_sub = len(SUBURB_NAMES)
        suburb_codes = np.where(erased, n_sub, self.suburb)
        gender = np.where(self.gender_known, self.gender_code, len(GENDERS))
        prop = self.property_code.filled(len(PROPERTY_TYPES))
        prop = np.where(erased, len(PROPERTY_TYPES), prop)
        return TableData(
            "homeowner",
            {
                "id": np.arange(1, self.n + 1),
                "first_name": first.tolist(),
                "last_name": last.tolist(),
                "email": self.email,
                "phone": self.phone,
                "whatsapp_opt_in": self.whatsapp & ~erased,
                "street": self.street,
                "suburb": Cat(suburb_codes, (*SUBURB_NAMES, None)),
                "city": Cat(self.city, CITY_NAMES),
                "province": Cat(self.province, PROVINCE_NAMES),
                "postal_code": Cat(suburb_codes, (*SUBURB_POSTCODES, None)),
                "birth_year": self.birth_year,
                "gender": Cat(gender, (*GENDERS, None)),
                "property_type": Cat(prop, (*PROPERTY_TYPES, None)),
                "source_site": Cat(self.source_site, (MAIN_SITE, *SUB_BRAND_SITES)),
                "created_at": self.created_at,
                "last_activity_at": self.last_activity_at,
                "erased_at": self.erased_at,
                "legal_hold": self.legal_hold,
            },
        )


def make_homeowners(
    rng: np.random.Generator, window: Window, first_lead_at: np.ndarray, phone_tails: np.ndarray
) -> Homeowners:
    """One homeowner per first lead; ``created_at`` a few minutes before that lead."""
    n = len(first_lead_at)
    gender_code = rng.choice(3, size=n, p=(0.51, 0.48, 0.01))
    female = np.where(gender_code == 2, rng.random(n) < 0.5, gender_code == 0)
    first = np.where(
        female,
        rng.integers(0, len(FEMALE_NAMES), n),
        rng.integers(0, len(MALE_NAMES), n),
    )
    surname = rng.integers(0, len(SURNAMES), n)
    province, city, suburb = pick_places(rng, n)

    age = np.clip(rng.normal(45, 13, n), 21, 88).astype(np.int64)
    birth_year = np.ma.array(window.as_of.year - age, mask=rng.random(n) >= 0.6)
    property_code = np.ma.array(
        rng.choice(len(PROPERTY_TYPES), size=n, p=PROPERTY_WEIGHTS), mask=rng.random(n) >= 0.85
    )

    female_first = np.minimum(first, len(FEMALE_NAMES) - 1)
    male_first = np.minimum(first, len(MALE_NAMES) - 1)
    female_slug = _strings([slug(x) for x in FEMALE_NAMES])
    male_slug = _strings([slug(x) for x in MALE_NAMES])
    fs = np.where(female, female_slug[female_first], male_slug[male_first])
    initial = np.where(
        female,
        _strings([x[0] for x in female_slug])[female_first],
        _strings([x[0] for x in male_slug])[male_first],
    )
    ls = _strings([slug(x) for x in SURNAMES])[surname]
    pattern = rng.choice(6, size=n, p=(0.30, 0.15, 0.15, 0.20, 0.10, 0.10))
    number = _strings([str(i) for i in range(1000)])[rng.integers(1, 1000, n)]
    year2 = _strings([f"{i:02d}" for i in range(100)])[(window.as_of.year - age) % 100]
    domain_names = _strings([d for d, _ in EMAIL_DOMAINS])
    weights = np.array([w for _, w in EMAIL_DOMAINS])
    domain = domain_names[rng.choice(len(domain_names), size=n, p=weights / weights.sum())]
    patterns = (
        lambda m: fs[m] + "." + ls[m],
        lambda m: fs[m] + ls[m],
        lambda m: initial[m] + ls[m],
        lambda m: fs[m] + "." + ls[m] + year2[m],
        lambda m: fs[m] + number[m],
        lambda m: ls[m] + "." + fs[m],
    )
    locals_ = np.empty(n, dtype=object)
    for p, make in enumerate(patterns):
        rows = pattern == p
        locals_[rows] = make(rows)
    email = unique_emails(locals_, domain)
    phone = unique_phones(rng, phone_tails)

    street_no = rng.integers(1, 240, n)
    street_name = rng.integers(0, len(STREET_NAMES), n)
    street_type = rng.integers(0, len(STREET_TYPES), n)
    unit = rng.integers(1, 120, n)
    complex_ = rng.integers(0, len(COMPLEX_NAMES), n)
    in_complex = np.isin(property_code.filled(-1), (1, 2))
    numbers = _strings([str(i) for i in range(240)])
    street = (
        numbers[street_no]
        + " "
        + _strings(STREET_NAMES)[street_name]
        + " "
        + _strings(STREET_TYPES)[street_type]
    )
    inside = np.flatnonzero(in_complex)
    street[inside] = (
        "Unit "
        + numbers[unit[inside]]
        + ", "
        + _strings(COMPLEX_NAMES)[complex_[inside]]
        + ", "
        + street[inside]
    )
    street = street.tolist()

    created_at = window.clamp_start(first_lead_at - seconds(rng.uniform(60, 1200, n)))
    return Homeowners(
        n=n,
        first=first,
        female=female,
        surname=surname,
        gender_code=gender_code,
        gender_known=rng.random(n) < 0.55,
        birth_year=birth_year,
        property_code=property_code,
        province=province,
        city=city,
        suburb=suburb,
        email=email,
        phone=phone,
        street=street,
        whatsapp=rng.random(n) < 0.65,
        created_at=created_at,
        last_activity_at=created_at.copy(),
        source_site=np.zeros(n, dtype=np.int64),
        erased_at=np.full(n, NAT),
        legal_hold=[None] * n,
    )


def add_dormant(
    rng: np.random.Generator, window: Window, homeowners: Homeowners, tails: np.ndarray
) -> None:
    """Append homeowners past the retention period (24 months after their last activity), one
    per ``tails`` (distinct 7-digit phone tails nobody else has): they registered 1–6 months
    before the data window and were never active again, so no lead of theirs is in the data.
    They give the retention sweep (``/retention``) something to erase on a fresh demo."""
    extra = make_homeowners(rng, window, np.full(len(tails), window.start), tails)
    before = seconds(rng.integers(30 * DAY, 180 * DAY, extra.n).astype(np.float64))
    extra.created_at = window.start - before
    extra.last_activity_at = extra.created_at + seconds(rng.uniform(60, 3600, extra.n))
    taken = set(homeowners.email)
    extra.email = [e if e not in taken else e.replace("@", ".old@", 1) for e in extra.email]
    for name in homeowners.__dataclass_fields__:
        mine, theirs = getattr(homeowners, name), getattr(extra, name)
        if name == "n":
            homeowners.n += extra.n
        elif isinstance(mine, list):
            mine.extend(theirs)
        elif isinstance(mine, np.ma.MaskedArray):
            setattr(homeowners, name, np.ma.concatenate([mine, theirs]))
        else:
            setattr(homeowners, name, np.concatenate([mine, theirs]))


@dataclass
class Partners:
    n: int
    quality: np.ndarray
    capacity: np.ndarray
    status: np.ndarray  # index into VETTING_STATUSES
    trades: list[list[int]]  # trade indices per partner, primary first
    province: np.ndarray
    city: np.ndarray
    serves: np.ndarray  # (n, provinces) bool
    areas: list[tuple[int, int, int | None]]  # (partner index, province, city or None)
    active_from: np.ndarray  # window month the partner starts receiving leads
    active_until: np.ndarray  # window month (exclusive) it stops: suspension or offboarding
    joined_at: np.ndarray
    vetting_days: np.ndarray
    business_name: list[str]
    contact_name: list[str]
    email: list[str]
    phone: list[str]
    website: list[str | None]

    def status_code(self, name: str) -> int:
        return VETTING_STATUSES.index(name)

    def table(self, rng: np.random.Generator) -> TableData:
        n = self.n
        specs = [TRADES[t[0]] for t in self.trades]
        skills = [", ".join(TRADES[t].skills[0] for t in ts) for ts in self.trades]
        certifications = [
            "; ".join(TRADES[t].certification for t in ts) if rng_ok else None
            for ts, rng_ok in zip(self.trades, (rng.random(n) < 0.85).tolist(), strict=True)
        ]
        prefs = rng.integers(0, len(WORKING_PREFERENCES), n).tolist()
        years = rng.integers(2, 30, n).tolist()
        biography = [
            f"{self.business_name[i]} has done {spec.name.lower()} work in "
            f"{CITY_NAMES[self.city[i]]} for {years[i]} years."
            for i, spec in enumerate(specs)
        ]
        prospective = self.status == self.status_code("prospective")
        has_payment = ~prospective | (rng.random(n) < 0.3)
        token_bits = rng.integers(0, 2**63, size=(n, 2), dtype=np.int64)
        last4 = rng.integers(0, 10_000, n)
        tokens = [
            f"tok_{a:016x}{b:08x}" if ok else None
            for a, b, ok in zip(
                token_bits[:, 0].tolist(),
                (token_bits[:, 1] % 2**32).tolist(),
                has_payment.tolist(),
                strict=True,
            )
        ]
        last4_text = [
            f"{x:04d}" if ok else None
            for x, ok in zip(last4.tolist(), has_payment.tolist(), strict=True)
        ]
        return TableData(
            "partner",
            {
                "id": np.arange(1, n + 1),
                "business_name": self.business_name,
                "contact_name": self.contact_name,
                "email": self.email,
                "phone": self.phone,
                "whatsapp_opt_in": rng.random(n) < 0.8,
                "website": self.website,
                "skills": skills,
                "certifications": certifications,
                "working_preferences": Cat(np.asarray(prefs), WORKING_PREFERENCES),
                "biography": biography,
                "payment_token": tokens,
                "payment_last4": last4_text,
                "vetting_status": Cat(self.status, VETTING_STATUSES),
                "province": Cat(self.province, PROVINCE_NAMES),
                "city": Cat(self.city, CITY_NAMES),
                "joined_at": self.joined_at,
                "erased_at": np.full(n, NAT),
                "legal_hold": [None] * n,
            },
        )

    def trade_table(self) -> TableData:
        pairs = sorted((p, t) for p, ts in enumerate(self.trades) for t in ts)
        return TableData(
            "partner_trade",
            {
                "partner_id": np.array([p + 1 for p, _ in pairs]),
                "trade_id": np.array([t + 1 for _, t in pairs]),
            },
        )

    def area_table(self) -> TableData:
        return TableData(
            "partner_area",
            {
                "id": np.arange(1, len(self.areas) + 1),
                "partner_id": np.array([p + 1 for p, _, _ in self.areas]),
                "province": Cat(np.array([r for _, r, _ in self.areas]), PROVINCE_NAMES),
                "city": [None if c is None else CITY_NAMES[c] for _, _, c in self.areas],
            },
        )


def _status_counts(n: int) -> dict[str, int]:
    """Prospective ~10 %, suspended ~5 %, offboarded ~3 %, and at least one of each."""
    counts = {
        "prospective": max(1, round(0.10 * n)),
        "suspended": max(1, round(0.05 * n)),
        "offboarded": max(1, round(0.03 * n)),
    }
    counts["vetted"] = n - sum(counts.values())
    return counts


def make_partners(
    rng: np.random.Generator, window: Window, n: int, phone_tails: np.ndarray
) -> Partners:
    quality = rng.standard_normal(n)
    capacity = np.exp(0.4 * quality + 0.5 * rng.standard_normal(n))

    status = np.full(n, VETTING_STATUSES.index("vetted"))
    free = np.arange(n)
    for name, weight in (
        ("suspended", np.exp(-1.2 * quality)),
        ("offboarded", np.exp(-0.5 * quality)),
        ("prospective", np.ones(n)),
    ):
        count = _status_counts(n)[name]
        w = weight[free] / weight[free].sum()
        chosen = rng.choice(free, size=count, replace=False, p=w)
        status[chosen] = VETTING_STATUSES.index(name)
        free = np.setdiff1d(free, chosen)
    vetted = VETTING_STATUSES.index("vetted")
    prospective = VETTING_STATUSES.index("prospective")

    shares = np.array([t.share for t in TRADES])
    n_trades = rng.choice((1, 2, 3), size=n, p=(0.45, 0.35, 0.20))
    trades: list[list[int]] = []
    for k in n_trades.tolist():
        picked = rng.choice(len(TRADES), size=k, replace=False, p=shares / shares.sum())
        trades.append([int(t) for t in picked])
    # Every trade needs a vetted partner, even in a tiny database: add the missing trade to the
    # vetted partner with the fewest trades (ties broken by index).
    for t in range(len(TRADES)):
        if any(t in trades[p] for p in range(n) if status[p] == vetted):
            continue
        vetted_ids = [p for p in range(n) if status[p] == vetted]
        pool = [p for p in vetted_ids if len(trades[p]) < 3] or vetted_ids or list(range(n))
        target = min(pool, key=lambda p: (len(trades[p]), p))
        trades[target].append(t)

    province, city, _suburb = pick_places(rng, n)
    serves = np.zeros((n, len(PROVINCES)), dtype=bool)
    serves[np.arange(n), province] = True
    areas: list[tuple[int, int, int | None]] = []
    whole_province = rng.random(n) < 0.45
    extra = rng.choice(3, size=n, p=(0.6, 0.3, 0.1))
    for p in range(n):
        areas.append((p, int(province[p]), None if whole_province[p] else int(city[p])))
        neighbours = PROVINCE_NEIGHBOURS[PROVINCE_NAMES[province[p]]]
        k = min(int(extra[p]), len(neighbours))
        for name in rng.choice(neighbours, size=k, replace=False).tolist():
            r = PROVINCE_NAMES.index(name)
            serves[p, r] = True
            areas.append((p, r, None))

    established = rng.random(n) < 0.65
    active_from = np.where(established, 0, rng.integers(0, 22, n))
    active_from = np.where(status == prospective, rng.integers(22, 24, n), active_from)
    active_until = np.full(n, 24)
    suspended = status == VETTING_STATUSES.index("suspended")
    offboarded = status == VETTING_STATUSES.index("offboarded")
    active_until = np.where(suspended, rng.integers(12, 24, n), active_until)
    active_until = np.where(offboarded, rng.integers(6, 23, n), active_until)
    active_from = np.minimum(active_from, np.maximum(active_until - 3, 0))
    month_seconds = window.days / 24 * DAY
    joined_at = window.start + seconds(
        np.where(
            established & (active_from == 0),
            -rng.uniform(0, 4 * 365 * DAY, n),
            active_from * month_seconds + rng.uniform(0, 25 * DAY, n),
        )
    )

    contact_female = rng.random(n) < 0.3
    contact_first = [
        FEMALE_NAMES[rng.integers(len(FEMALE_NAMES))]
        if fem
        else MALE_NAMES[rng.integers(len(MALE_NAMES))]
        for fem in contact_female.tolist()
    ]
    contact_last = [SURNAMES[i] for i in rng.integers(0, len(SURNAMES), n).tolist()]
    style = rng.integers(0, 3, n).tolist()
    places = rng.integers(0, len(BUSINESS_PLACES), n).tolist()
    suffixes = rng.integers(0, len(BUSINESS_SUFFIXES), n).tolist()
    names = []
    for p in range(n):
        word = TRADES[trades[p][0]].name.split(" and ")[0]
        if style[p] == 0:
            name = f"{contact_last[p]} {word} {BUSINESS_SUFFIXES[suffixes[p]]}"
        elif style[p] == 1:
            name = f"{BUSINESS_PLACES[places[p]]} {word} {BUSINESS_SUFFIXES[suffixes[p]]}"
        else:
            name = f"{CITY_NAMES[city[p]]} {word} {BUSINESS_SUFFIXES[suffixes[p]]}"
        names.append(name)
    slugs = [slug(x.replace("(Pty) Ltd", "").replace("&", "and")) for x in names]
    mailbox = [
        "info" if s == 0 else slug(first) for s, first in zip(style, contact_first, strict=True)
    ]
    seen: dict[str, int] = {}
    domains = []
    for s in slugs:
        seen[s] = seen.get(s, 0) + 1
        domains.append(f"{s}.co.za" if seen[s] == 1 else f"{s}{seen[s]}.co.za")
    email = [f"{m}@{d}" for m, d in zip(mailbox, domains, strict=True)]
    website = [
        f"https://www.{d}" if ok else None
        for d, ok in zip(domains, (rng.random(n) < 0.6).tolist(), strict=True)
    ]
    phone = unique_phones(rng, phone_tails)
    landline = rng.random(n) < 0.35
    for p in np.flatnonzero(landline).tolist():
        phone[p] = f"+27{CITIES[city[p]].area_code}{phone[p][-7:]}"

    return Partners(
        n=n,
        quality=quality,
        capacity=capacity,
        status=status,
        trades=trades,
        province=province,
        city=city,
        serves=serves,
        areas=areas,
        active_from=active_from,
        active_until=active_until,
        joined_at=joined_at,
        vetting_days=rng.uniform(10, 40, n),
        business_name=names,
        contact_name=[f"{a} {b}" for a, b in zip(contact_first, contact_last, strict=True)],
        email=email,
        phone=phone,
        website=website,
    )
