"""The privacy desk's words: verification methods and outcomes, denial reasons, the actions and
their labels, each request type's fulfilment step, and the plain-words messages of its fields.

Kept apart from the state machine (``workflow.py``) so that the pages, the demo data and the
rules read the same vocabulary, and a wording change does not touch the transitions.
"""

from __future__ import annotations

from data.models import DENIAL_REASONS
from data.privacy.clock import MAX_EXTENSION_DAYS

VERIFICATION_METHODS = {
    "registered_email_reply": "Reply from the registered email address",
    "registered_phone_otp": "One-time code sent to the registered phone",
    "document_sighted": "Identity document sighted (no copy kept)",
}
VERIFICATION_OUTCOMES = {
    "pending": "Challenge sent, waiting for the reply",
    "verified": "Verified",
    "failed": "Failed",
    "expired": "Expired (no reply in time)",
}
# Outcomes after which "identity not verified" may be given as the denial reason
UNVERIFIABLE_OUTCOMES = ("failed", "expired")
DENIAL_REASON_LABELS = {
    "identity_not_verified": "Identity not verified",
    "manifestly_unfounded_or_repeated": "Manifestly unfounded or repeated",
    "legal_obligation_to_retain": "Legal obligation to retain",
    "legal_hold": "Legal hold",
}
assert set(DENIAL_REASON_LABELS) == set(DENIAL_REASONS)

ACTIONS = (
    "verify",
    "assign",
    "note",
    "extend",
    "deny",
    "access_package",
    "correct",
    "opt_out",
    "complete",
    "close_unverified",
)
ACTION_LABELS = {
    "verify": "Verify identity",
    "assign": "Assign",
    "note": "Add a note",
    "extend": "Extend the deadline",
    "deny": "Deny",
    "access_package": "Access package",
    "correct": "Correct the subject's details",
    "opt_out": "Record opt-outs",
    "complete": "Complete",
    "close_unverified": "Close as unverified",
}
# Officers' own texts (evidence, reasons, notes, responses) are at most this long, enforced
# here whatever the browser allowed: a page that shows them stays readable, and a pasted
# document belongs in the records system, not in a note.
STAFF_TEXT_MAX_BYTES = 20 * 1024
# Plain-words messages of the request page's fields: each says what to do, not which field code
# failed (docs/privacy-desk.md).
MESSAGES = {
    "method": "Choose how the identity was checked.",
    "outcome": "Choose the outcome of the check.",
    "evidence": "Describe the evidence you saw (for example the reply you received).",
    "note": "Write the note before adding it.",
    "days": f"Enter the number of days, from 1 to {MAX_EXTENSION_DAYS}.",
    "extend_reason": "Give the reason for the extension.",
    "notice_date": "Enter the date the requester was told about the extension.",
    "deny_reason": "Choose the reason for the denial.",
    "response_text": "Write the text sent to the requester.",
    "resolution_note": "Write the internal resolution note.",
}

# The fulfilment step of each request type (erasure runs from its own issue's code).
FULFILMENT = {
    "access": "access_package",
    "correction": "correct",
    "objection": "opt_out",
    "service_opt_out": "opt_out",
    "analytics_opt_out": "opt_out",
    "erasure": None,
}
