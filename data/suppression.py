"""Normalised identifiers and their keyed digests for the suppression list.

The suppression list must recognise a person who opted out or was erased without keeping their
email address or phone number. A keyed HMAC (not a plain hash) is stored: phone numbers and
emails are a small, guessable space, so an unkeyed SHA-256 could be reversed by brute force.
Identifiers are normalised first so that "082 123 4567" and "+27 82 123 4567" match.

The key comes from ``SUPPRESSION_KEY`` or, unset, from ``instance/suppression_key``, created on
first use. Losing the key makes every existing digest unmatchable, so it is kept, not rotated.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets

from data.db import instance_path

KEY_ENV = "SUPPRESSION_KEY"
KEY_FILE = "suppression_key"
KINDS = ("email", "phone")

_PHONE_JUNK = re.compile(r"[\s\-().\u00a0/]")


def normalise_email(value: str) -> str:
    """Trimmed and lower-cased, as stored in the ``email`` columns."""
    return value.strip().lower()


def normalise_phone(value: str) -> str | None:
    """A South African number as E.164 ``+27XXXXXXXXX``, or None if it is not one.

    Accepts the national form (``082 123 4567``), ``+27``, ``27`` and ``0027`` prefixes, with
    spaces, dashes, dots, slashes or brackets, and the common ``+27 (0)82`` slip.
    """
    digits = _PHONE_JUNK.sub("", value.strip())
    if digits.startswith("+"):
        digits = digits[1:]
        if not digits.startswith("27"):
            return None
        national = digits[2:]
    elif digits.startswith("0027"):
        national = digits[4:]
    elif digits.startswith("27") and len(digits) in (11, 12):
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        return None
    if national.startswith("0") and len(national) == 10:  # "+27 (0)82 ..." written out
        national = national[1:]
    if len(national) != 9 or not national.isdigit() or national[0] not in "12345678":
        return None
    return "+27" + national


def normalise(kind: str, value: str) -> str:
    """The stored form of an identifier of ``kind``; ValueError if it cannot be one."""
    if kind == "email":
        email = normalise_email(value)
        if "@" not in email:
            raise ValueError("not an email address")
        return email
    if kind == "phone":
        phone = normalise_phone(value)
        if phone is None:
            raise ValueError("not a South African phone number")
        return phone
    raise ValueError(f"unknown identifier kind {kind!r}; expected one of {KINDS}")


def suppression_digest(kind: str, value: str, key: bytes) -> str:
    """Hex HMAC-SHA256 of ``kind:normalised value``.

    The kind is part of the message so that an email and a phone can never share a digest, and
    normalising here means callers cannot forget to.
    """
    message = f"{kind}:{normalise(kind, value)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def suppression_key() -> bytes:
    """The HMAC key: ``SUPPRESSION_KEY`` if set, else the instance key file (made if missing).

    The key file is written in full under a temporary name and then hard-linked into place, so
    two processes starting together agree on one key and neither can read a half-written file.
    """
    configured = os.environ.get(KEY_ENV)
    if configured:
        return configured.encode()
    path = instance_path() / KEY_FILE
    if not path.exists():
        tmp = path.with_name(f"{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: restore the suppression key or set {KEY_ENV}")
    return key.encode()
