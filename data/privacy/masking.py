"""Masked identifiers for lists (the queue, intake candidates, audit-safe summaries).

Lists show enough to recognise a person (``j***@gmail.com``, ``082 *** 0101``) and no more, so
a screen-share or a stray screenshot of the queue does not leak contact details; the request
page, where the officer has to verify identity, shows them in full. Masking happens in ``data/``
so the unmasked value never reaches the browser for a list view.
"""

from __future__ import annotations

from data.identifiers import normalise_phone


def mask_email(value: str | None) -> str:
    """``john@gmail.com`` → ``j***@gmail.com`` (the domain stays: it says which provider)."""
    if not value:
        return ""
    value = value.strip()
    local, at, domain = value.rpartition("@")
    if not at or not local:
        return value[:1] + "***" if value else ""
    return f"{local[0]}***@{domain.lower()}"


def mask_phone(value: str | None) -> str:
    """``+27820000101`` or ``082 000 0101`` → ``082 *** 0101``; other numbers (foreign ones
    included) keep their first three and last four digits at most."""
    if not value:
        return ""
    normalised = normalise_phone(value)
    if normalised is not None and normalised.startswith("+27"):
        national = "0" + normalised[3:]
        return f"{national[:3]} *** {national[-4:]}"
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) <= 4:
        return "***"
    if len(digits) < 8:
        return f"*** {digits[-2:]}"
    return f"{digits[:3]} *** {digits[-4:]}"


def initials(name: str | None) -> str:
    """``Thandi Nkosi`` → ``T. N.``"""
    if not name:
        return ""
    parts = [p for p in name.replace(".", " ").split() if p]
    return " ".join(f"{p[0].upper()}." for p in parts[:3])


def masked_subject(name: str | None, email: str | None, phone: str | None) -> str:
    """One line for a list cell: initials, masked email and masked phone, whatever is known."""
    bits = [b for b in (initials(name), mask_email(email), mask_phone(phone)) if b]
    return " · ".join(bits) if bits else "(no identifiers)"
