"""The access package, field by field: every section of a homeowner's and a partner's package
written out by hand for a subject whose rows have every field filled (so a field left out, a
value swapped or a wrong column would show), in the crowded world (the other people have a row
in every table and appear nowhere); the audit entries of a preview and a download; the file
names; and the readable report, markup and all.

The expectations are copied from how the rows are written below (and in
tests/privacy_support.py's ``make_world``), never from a package the code built.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from data.db import session_scope
from data.models import (
    AuditLog,
    ConsentEvent,
    Homeowner,
    Interaction,
    Lead,
    LeadEvent,
    LeadShare,
    LegalDisclosure,
    Partner,
    PartnerArea,
    PartnerTrade,
    Review,
    Trade,
)
from data.privacy import access_package as ap
from data.privacy.models import PrivacyCorrection
from data.timeutil import utcnow
from tests.privacy_support import (
    EPOCH,
    make_crowded_world,
    make_staff,
    traces_of_others,
    verified_request,
)


def t(*parts: int) -> datetime:
    return datetime(*parts)


@pytest.fixture
def rich(db):
    """The crowded world, with every field of the subject's rows filled in."""
    with session_scope(db) as s:
        staff = make_staff(s)
        world = make_crowded_world(s)
        ids = world.ids
        person = s.get(Homeowner, world.subject.id)
        person.street, person.postal_code, person.birth_year = "1 Main Road", "2196", 1980
        person.gender, person.property_type, person.whatsapp_opt_in = "female", "house", True
        person.source_site, person.last_activity_at = "geyserhelp.co.za", t(2026, 5, 1, 8, 0)
        lead = s.get(Lead, ids["lead1"])
        lead.suburb, lead.status, lead.channel = "Sandton", "quoted", "referral"
        share = s.get(LeadShare, ids["share1"])
        share.viewed_at, share.response = t(2025, 1, 1, 1, 0), "accepted"
        share.first_contact_at, share.quoted_at = t(2025, 1, 1, 2, 0), t(2025, 1, 2, 9, 0)
        share.quote_amount, share.hired_at = Decimal("1500.50"), t(2025, 1, 3, 9, 0)
        share.completed_at, share.outcome = t(2025, 1, 5, 17, 0), "won"
        share.partner_was_prospective = True
        review = s.get(Review, ids["review_by_subject"])
        review.quality, review.timeliness, review.value, review.communication = 5, 4, 3, 2
        review.moderation_status, review.dispute = "flagged", True
        s.get(Interaction, ids["interaction"]).notes = "Asked about the geyser"
        # A message with a partner that neither received a lead of theirs nor was reviewed.
        s.add(
            Interaction(
                homeowner_id=world.subject.id,
                partner_id=world.rows.partners[2].id,
                channel="whatsapp",
                parties="homeowner_partner",
                at=t(2026, 5, 20, 9, 0),
                recorded=False,
                purpose="service",
            )
        )
        s.add_all(
            [
                LeadEvent(
                    lead_id=ids["lead1"],
                    partner_id=world.partner.id,
                    from_status="shared",
                    to_status="quoted",
                    at=t(2025, 1, 2, 9, 0),
                    actor="system",
                ),
                LeadEvent(
                    lead_id=ids["lead1"], from_status=None, to_status="created", at=EPOCH, actor="x"
                ),
                ConsentEvent(
                    subject_type="homeowner",
                    subject_id=world.subject.id,
                    purpose="marketing_phone",
                    granted=False,
                    at=t(2026, 4, 1, 10, 0),
                    source="email",
                    evidence="Unsubscribe link",
                ),
            ]
        )
        partner = s.get(Partner, world.partner.id)
        partner.contact_name, partner.website = "Sipho Dlamini", "https://p0.example"
        partner.skills, partner.certifications = "Geysers", "PIRB"
        partner.working_preferences, partner.biography = "Weekdays", "Family firm since 1999"
        partner.payment_last4, partner.province, partner.city = "4242", "Gauteng", "Pretoria"
        partner.whatsapp_opt_in = True
        # Added after Plumbing, so their ids run Plumbing, Solar, Aircon: not the name order.
        solar, aircon = Trade(code="solar", name="Solar"), Trade(code="aircon", name="Aircon")
        s.add_all([solar, aircon])
        s.flush()
        s.add_all(
            [
                PartnerTrade(partner_id=partner.id, trade_id=solar.id),
                PartnerTrade(partner_id=partner.id, trade_id=aircon.id),
                PartnerTrade(partner_id=partner.id, trade_id=world.rows.trade.id),
                PartnerArea(partner_id=partner.id, province="Gauteng", city="Pretoria"),
            ]
        )
    rid, _ = verified_request(
        db,
        staff.officer,
        type="access",
        subject_type="homeowner",
        subject_id=world.subject.id,
        message="What do you hold?",
    )
    partner_rid, _ = verified_request(
        db,
        staff.officer,
        type="access",
        subject_type="partner",
        subject_id=world.partner.id,
        given_name="Sipho Dlamini",
        given_email="owner@p0.example",
        given_phone=None,
    )
    with session_scope(db) as s:
        s.add_all(
            [
                PrivacyCorrection(
                    request_id=rid,
                    subject_type="homeowner",
                    subject_id=world.subject.id,
                    field="suburb",
                    before_value="Sandtn",
                    after_value="Sandton",
                    at=t(2026, 5, 30, 9, 0),
                ),
                LegalDisclosure(
                    reference="CAS 12/2026",
                    authority="SAPS",
                    legal_basis="s205 subpoena",
                    data_released="phone number",
                    subject_type="homeowner",
                    subject_id=world.subject.id,
                    at=t(2026, 3, 2, 11, 0),
                ),
            ]
        )
    return staff, world, rid, partner_rid


def no_times(share: dict) -> dict:
    return {
        "viewed_at": None,
        "response": None,
        "first_contact_at": None,
        "quoted_at": None,
        "quote_amount": None,
        "hired_at": None,
        "completed_at": None,
        "outcome": None,
        **share,
    }


def review_row(**fields) -> dict:
    row = {
        "created_at": "2025-01-08T00:00:00",
        "lead_id": None,
        "partner": "Partner 0",
        "author_side": "homeowner_about_partner",
        "rating": 4,
        "quality": None,
        "timeliness": None,
        "value": None,
        "communication": None,
        "comment": None,
        "moderation_status": "published",
        "dispute": False,
    }
    return {**row, **fields}


INTERACTION = {
    "at": "2026-05-12T12:00:00",  # twenty days before NOW
    "channel": "call",
    "parties": "homeowner_partner",
    "partner": "Partner 0",
    "lead_id": None,
    "duration_s": 120,
    "recorded": True,
    "recording_ref": "rec-0001",
    "purpose": "quality_control",
    "notes": "Asked about the geyser",
}


def consent_row(purpose, granted=True, at="2026-02-21T12:00:00", source="web_form", evidence=None):
    return {
        "purpose": purpose,
        "granted": granted,
        "at": at,
        "source": source,
        "evidence": evidence,
    }


def test_the_homeowner_package_field_by_field(db, rich):
    staff, world, rid, _ = rich
    ids = world.ids
    before = utcnow()
    with session_scope(db) as s:
        package = ap.build_package(s, rid, staff.officer)
    after = utcnow()
    meta = package["package"]
    assert before <= datetime.fromisoformat(meta["generated_at"]) <= after
    assert {k: v for k, v in meta.items() if k != "generated_at"} == {
        "request_id": rid,
        "subject_type": "homeowner",
        "subject_id": world.subject.id,
        "legal_basis": "POPIA s23 / PAIA: right of access to personal information",
    }
    expected = {
        "profile": [
            {
                "id": world.subject.id,
                "first_name": "Thandi",
                "last_name": "Nkosi",
                "email": "thandi@example.co.za",
                "phone": "+27820000101",
                "whatsapp_opt_in": True,
                "street": "1 Main Road",
                "suburb": "Sandton",
                "city": "Johannesburg",
                "province": "Gauteng",
                "postal_code": "2196",
                "birth_year": 1980,
                "gender": "female",
                "property_type": "house",
                "source_site": "geyserhelp.co.za",
                "created_at": "2025-01-01T00:00:00",
                "last_activity_at": "2026-05-01T08:00:00",
            }
        ],
        "leads": [
            {
                "lead_id": ids["lead1"],
                "created_at": "2025-01-01T00:00:00",
                "trade": "Plumbing",
                "service_type": "Quotation",
                "description": "Leaking geyser <script>alert(1)</script>",
                "suburb": "Sandton",
                "city": "Johannesburg",
                "province": "Gauteng",
                "channel": "referral",
                "status": "quoted",
            },
            {
                "lead_id": ids["lead2"],
                "created_at": "2026-05-27T12:00:00",  # five days before NOW
                "trade": "Plumbing",
                "service_type": "Quotation",
                "description": "Rewire the kitchen",
                "suburb": None,
                "city": "Johannesburg",
                "province": "Gauteng",
                "channel": "organic",
                "status": "created",
            },
        ],
        "lead_history": [
            {
                "lead_id": ids["lead1"],
                "partner": None,
                "from_status": None,
                "to_status": "created",
                "at": "2025-01-01T00:00:00",
            },
            {
                "lead_id": ids["lead1"],
                "partner": "Partner 0",
                "from_status": "shared",
                "to_status": "quoted",
                "at": "2025-01-02T09:00:00",
            },
        ],
        "shares": [
            {
                "lead_id": ids["lead1"],
                "partner": "Partner 0",
                "shared_at": "2025-01-01T00:05:00",
                "viewed_at": "2025-01-01T01:00:00",
                "response": "accepted",
                "first_contact_at": "2025-01-01T02:00:00",
                "quoted_at": "2025-01-02T09:00:00",
                "quote_amount": "1500.50",
                "hired_at": "2025-01-03T09:00:00",
                "completed_at": "2025-01-05T17:00:00",
                "outcome": "won",
            },
            no_times(
                {
                    "lead_id": ids["lead1"],
                    "partner": "Partner 1",
                    "shared_at": "2025-01-01T00:05:00",
                }
            ),
        ],
        "interactions": [
            {**INTERACTION, "lead_id": ids["lead1"]},
            {
                "at": "2026-05-20T09:00:00",
                "channel": "whatsapp",
                "parties": "homeowner_partner",
                "partner": "Partner 2",
                "lead_id": None,
                "duration_s": None,
                "recorded": False,
                "recording_ref": None,
                "purpose": "service",
                "notes": None,
            },
        ],
        "reviews": [
            review_row(
                lead_id=ids["lead1"],
                quality=5,
                timeliness=4,
                value=3,
                communication=2,
                comment="Great work by the plumber",
                moderation_status="flagged",
                dispute=True,
            ),
            review_row(
                lead_id=ids["lead1"],
                author_side="partner_about_homeowner",
                rating=5,
                comment="Friendly client",
            ),
        ],
        "consent_history": [
            consent_row("marketing_email"),
            consent_row("marketing_phone"),
            consent_row("service_contact"),
            consent_row(
                "marketing_phone",
                granted=False,
                at="2026-04-01T10:00:00",
                source="email",
                evidence="Unsubscribe link",
            ),
        ],
        "privacy_requests": [
            {
                "id": rid,
                "type": "access",
                "channel": "email",
                "received_at": "2026-05-29T12:00:00",
                "given_name": "Thandi Nkosi",
                "given_email": "thandi@example.co.za",
                "given_phone": "082 000 0101",
                "message": "What do you hold?",
                "due_at": "2026-06-28T12:00:00",
                "extended": False,
                "status": "in_progress",
                "denial_reason": None,
                "response_text": None,
                "closed_at": None,
            }
        ],
        "corrections": [
            {
                "at": "2026-05-30T09:00:00",
                "field": "suburb",
                "before_value": "Sandtn",
                "after_value": "Sandton",
            }
        ],
        "disclosures": [
            {
                "at": "2026-03-02T11:00:00",
                "reference": "CAS 12/2026",
                "authority": "SAPS",
                "legal_basis": "s205 subpoena",
                "data_released": "phone number",
            }
        ],
    }
    assert package["sections"] == expected
    assert list(package["sections"]) == list(expected)  # the report's section order
    assert traces_of_others(package, world.others) == []


def test_the_partner_package_field_by_field(db, rich):
    staff, world, _, partner_rid = rich
    ids = world.ids
    with session_scope(db) as s:
        package = ap.build_package(s, partner_rid, staff.officer)
    assert package["package"]["subject_type"] == "partner"
    assert package["package"]["subject_id"] == world.partner.id
    expected = {
        "profile": [
            {
                "id": world.partner.id,
                "business_name": "Partner 0",
                "contact_name": "Sipho Dlamini",
                "email": world.partner.email,  # the factory's numbered address
                "phone": world.partner.phone,
                "whatsapp_opt_in": True,
                "website": "https://p0.example",
                "skills": "Geysers",
                "certifications": "PIRB",
                "working_preferences": "Weekdays",
                "biography": "Family firm since 1999",
                "payment_last4": "4242",
                "vetting_status": "vetted",
                "province": "Gauteng",
                "city": "Pretoria",
                "joined_at": "2025-01-01T00:00:00",
            }
        ],
        "trades_and_areas": [
            {"trade": "Aircon", "province": None, "city": None},  # by name
            {"trade": "Plumbing", "province": None, "city": None},
            {"trade": "Solar", "province": None, "city": None},
            {"trade": None, "province": "Gauteng", "city": "Pretoria"},
        ],
        "leads_received": [
            {
                "lead_id": ids["lead1"],
                "trade": "Plumbing",
                "province": "Gauteng",
                "shared_at": "2025-01-01T00:05:00",
                "viewed_at": "2025-01-01T01:00:00",
                "response": "accepted",
                "first_contact_at": "2025-01-01T02:00:00",
                "quoted_at": "2025-01-02T09:00:00",
                "quote_amount": "1500.50",
                "hired_at": "2025-01-03T09:00:00",
                "completed_at": "2025-01-05T17:00:00",
                "outcome": "won",
                "partner_was_prospective": True,
            }
        ],
        "interactions": [{**INTERACTION, "lead_id": ids["lead1"]}],
        "reviews": [
            review_row(
                lead_id=ids["lead1"],
                quality=5,
                timeliness=4,
                value=3,
                communication=2,
                comment="Great work by the plumber",
                moderation_status="flagged",
                dispute=True,
            ),
            review_row(
                lead_id=ids["lead1"],
                author_side="partner_about_homeowner",
                rating=5,
                comment="Friendly client",
            ),
            # make_world's review by the other homeowner went to Partner 0 too: it is about
            # this partner, so it belongs here (its author is not named).
            # another homeowner's review reaches the partner redacted (issue 12): the
            # reviewer's surname, "Other", is removed from it
            review_row(lead_id=ids["other_lead"], comment="[name removed] PERSON'S REVIEW"),
        ],
        "consent_history": [
            consent_row(
                "marketing_email", at="2026-03-03T12:00:00", evidence="PARTNER-ZERO-CONSENT"
            )
        ],
        "privacy_requests": [
            {
                "id": partner_rid,
                "type": "access",
                "channel": "email",
                "received_at": "2026-05-29T12:00:00",
                "given_name": "Sipho Dlamini",
                "given_email": "owner@p0.example",
                "given_phone": None,
                "message": None,
                "due_at": "2026-06-28T12:00:00",
                "extended": False,
                "status": "in_progress",
                "denial_reason": None,
                "response_text": None,
                "closed_at": None,
            }
        ],
        "corrections": [],
        "disclosures": [],
    }
    assert package["sections"] == expected
    assert list(package["sections"]) == list(expected)


# --- audit entries, file names, formats ---------------------------------------------------------

HOMEOWNER_COUNTS = {
    "profile": 1,
    "leads": 2,
    "lead_history": 2,
    "shares": 2,
    "interactions": 2,
    "reviews": 2,
    "consent_history": 4,
    "privacy_requests": 1,
    "corrections": 1,
    "disclosures": 1,
}


def package_entries(db) -> list[tuple]:
    with session_scope(db) as s:
        rows = s.scalars(
            select(AuditLog).where(AuditLog.action.like("%access_package%")).order_by(AuditLog.id)
        ).all()
        return [(r.actor, r.action, r.object_type, r.object_id, r.details) for r in rows]


def test_a_preview_is_audited_with_the_section_counts(db, rich):
    staff, _, rid, _ = rich
    with session_scope(db) as s:
        package = ap.preview_package(s, rid, staff.officer2)
    assert ap.section_counts(package) == HOMEOWNER_COUNTS
    assert package_entries(db) == [
        (
            "oscar",
            "privacy_request.access_package.preview",
            "privacy_request",
            str(rid),
            {"sections": HOMEOWNER_COUNTS},
        )
    ]


def test_downloads_are_named_typed_and_audited(db, rich):
    staff, _, rid, _ = rich
    with session_scope(db) as s:
        as_json = ap.download_package(s, rid, staff.officer, "json")
        as_html = ap.download_package(s, rid, staff.officer2, "html")
    day = utcnow().strftime("%Y%m%d")
    assert (as_json.filename, as_json.mime_type) == (
        f"access-package-request-{rid}-{day}.json",
        "application/json",
    )
    assert (as_html.filename, as_html.mime_type) == (
        f"access-package-request-{rid}-{day}.html",
        "text/html",
    )
    # Pretty-printed, "package" before "sections", non-ASCII kept as it is.
    assert as_json.content.startswith('{\n  "package": {\n    "request_id": ')
    assert as_json.content.index('"package"') < as_json.content.index('"sections"')
    assert json.loads(as_json.content)["sections"]["profile"][0]["postal_code"] == "2196"
    assert as_html.content.startswith("<!doctype html>\n")
    assert package_entries(db) == [
        (
            "olivia",
            "privacy_request.access_package.download",
            "privacy_request",
            str(rid),
            {"format": "json", "sections": HOMEOWNER_COUNTS},
        ),
        (
            "oscar",
            "privacy_request.access_package.download",
            "privacy_request",
            str(rid),
            {"format": "html", "sections": HOMEOWNER_COUNTS},
        ),
    ]


def test_json_keeps_non_ascii_text():
    text = ap.to_json({"package": {"a": "Águas"}, "sections": {}})
    assert text == '{\n  "package": {\n    "a": "Águas"\n  },\n  "sections": {}\n}'


def test_an_unknown_format_is_refused_before_anything_is_built(db, rich):
    staff, _, rid, _ = rich
    with pytest.raises(ap.PackageRefused) as exc, session_scope(db) as s:
        ap.download_package(s, rid, staff.officer, "pdf")
    assert str(exc.value) == "Unknown format 'pdf'."
    assert package_entries(db) == []


def test_an_erased_subject_has_no_package(db, rich):
    staff, world, rid, partner_rid = rich
    with session_scope(db) as s:
        s.get(Homeowner, world.subject.id).erased_at = t(2026, 5, 31)
        s.get(Partner, world.partner.id).erased_at = t(2026, 5, 31)
    for request_id in (rid, partner_rid):
        with pytest.raises(ap.PackageRefused) as exc, session_scope(db) as s:
            ap.build_package(s, request_id, staff.officer)
        assert str(exc.value) == "The subject's record no longer exists (erased)."


def test_an_unknown_request_has_no_package(db, rich):
    staff, *_ = rich
    with pytest.raises(ap.NotFound) as exc, session_scope(db) as s:
        ap.build_package(s, 987654, staff.officer)
    assert str(exc.value) == "There is no privacy request #987654."


# --- the readable report ------------------------------------------------------------------------


def test_the_report_markup_exactly():
    package = {
        "package": {
            "request_id": 7,
            "generated_at": "2026-06-01T12:00:00",
            "legal_basis": "POPIA <s23>",
        },
        "sections": {
            "profile": [{"first_name": "Thandi", "whatsapp_opt_in": True, "street": None}],
            "leads": [
                {"lead_id": 1, "description": '<b>"x"</b> & y', "recorded": False},
                {"lead_id": 2, "description": None, "recorded": True},
            ],
            "corrections": [],
            "odd_section": [{"a_b": 0}],
        },
    }
    lines = ap.render_html(package).split("\n")
    assert lines[:5] == [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        "<title>Personal information held · request 7</title>",
        "<style>",
    ]
    # The style sheet's own lines come next, up to the line that closes the head.
    end = lines.index("</style></head><body>")
    assert lines[end + 1 :] == [
        "<h1>Personal information we hold about you</h1>",
        "<p>Prepared for privacy request #7 on 2026-06-01T12:00:00 (UTC). POPIA &lt;s23&gt;.</p>",
        '<h2 id="profile">Profile (1)</h2>',
        "<dl><dt>First name</dt><dd>Thandi</dd><dt>Whatsapp opt in</dt><dd>yes</dd>"
        "<dt>Street</dt><dd></dd></dl>",
        '<h2 id="leads">Job requests (leads) (2)</h2>',
        "<table><thead><tr><th>Lead id</th><th>Description</th><th>Recorded</th></tr></thead>"
        "<tbody><tr><td>1</td><td>&lt;b&gt;&quot;x&quot;&lt;/b&gt; &amp; y</td><td>no</td></tr>"
        "<tr><td>2</td><td></td><td>yes</td></tr></tbody></table>",
        '<h2 id="corrections">Corrections made to your details (0)</h2>',
        '<p class="empty">Nothing held.</p>',
        '<h2 id="odd_section">Odd section (1)</h2>',
        "<table><thead><tr><th>A b</th></tr></thead><tbody><tr><td>0</td></tr></tbody></table>",
        "</body></html>",
    ]


def test_a_profile_of_several_rows_is_a_table():
    package = {
        "package": {"request_id": 1, "generated_at": "g", "legal_basis": "b"},
        "sections": {"profile": [{"id": 1}, {"id": 2}]},
    }
    report = ap.render_html(package)
    assert (
        '<h2 id="profile">Profile (2)</h2>\n<table><thead><tr><th>Id</th></tr></thead>'
        "<tbody><tr><td>1</td></tr><tr><td>2</td></tr></tbody></table>" in report
    )
    assert "<dl>" not in report


@pytest.mark.parametrize("subject_type", ["homeowner", "partner"])
def test_a_subject_that_no_longer_exists_has_no_package(db, subject_type):
    with session_scope(db) as s:
        staff = make_staff(s)
    rid, _ = verified_request(
        db, staff.officer, type="access", subject_type=subject_type, subject_id=424242
    )
    with pytest.raises(ap.PackageRefused) as exc, session_scope(db) as s:
        ap.build_package(s, rid, staff.officer)
    assert str(exc.value) == "The subject's record no longer exists (erased)."
