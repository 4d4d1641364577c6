"""The do-not-contact list: keyed digests of people who opted out of contact or were erased.

Named ``do_not_contact`` (it used to be ``data.suppression``) because "suppression" also means
hiding small cells in de-identified aggregates; this module is only about the list of people
who must never be contacted or re-imported. The list keeps its established names where they
are stored or configured: the ``suppression`` table (``data.models.Suppression``), the
``SUPPRESSION_KEY`` setting and the ``instance/suppression_key`` file, hence
:func:`suppression_digest` and :func:`suppression_key`. Normalising the identifiers is
:mod:`data.identifiers`.

The list must recognise a person who opted out or was erased without keeping their email
address or phone number. A keyed HMAC (not a plain hash) is stored: phone numbers and emails
are a small, guessable space, so an unkeyed SHA-256 could be reversed by brute force.
Identifiers are normalised first so that "082 123 4567" and "+27 82 123 4567" match.

The key comes from ``SUPPRESSION_KEY`` or, unset, from ``instance/suppression_key``, created on
first use. Losing the key makes every existing digest unmatchable, so it is kept, not rotated.
"""

from __future__ import annotations

import hmac
import os
import secrets

from data.db import create_private_file, instance_path
from data.identifiers import normalise

KEY_ENV = "SUPPRESSION_KEY"
KEY_FILE = "suppression_key"


def suppression_digest(kind: str, value: str, key: bytes) -> str:
    """Hex HMAC-SHA256 of ``kind:normalised value``.

    The kind is part of the message so that an email and a phone can never share a digest, and
    normalising here means callers cannot forget to.
    """
    return stored_form_digest(kind, normalise(kind, value), key)


def stored_form_digest(kind: str, stored: str, key: bytes) -> str:
    """The digest of a value already in its stored form (as normalised when it was stored):
    the migration that re-normalises identifiers (0009) pairs old and new digests with it."""
    return hmac.digest(key, f"{kind}:{stored}".encode(), "sha256").hex()


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
        create_private_file(path, (secrets.token_hex(32) + "\n").encode())
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: restore the suppression key or set {KEY_ENV}")
    return key.encode()
