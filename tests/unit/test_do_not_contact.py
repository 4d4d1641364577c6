"""Keyed digests and the key of the do-not-contact list (``data.do_not_contact``)."""

from __future__ import annotations

import hashlib
import hmac
import re
import stat

import pytest

from data.do_not_contact import KEY_FILE, suppression_digest, suppression_key

KEY = b"test-key"


def test_digest_matches_across_spellings_of_the_same_identifier() -> None:
    assert suppression_digest("phone", "082 123 4567", KEY) == suppression_digest(
        "phone", "+27821234567", KEY
    )
    assert suppression_digest("email", "A@B.co.za", KEY) == suppression_digest(
        "email", " a@b.co.za", KEY
    )


def test_digest_depends_on_key_and_kind_and_hides_the_value() -> None:
    digest = suppression_digest("email", "a@b.co.za", KEY)
    assert re.fullmatch(r"[0-9a-f]{64}", digest), digest  # lower-case hex of 32 bytes
    assert "a@b" not in digest
    assert digest != suppression_digest("email", "a@b.co.za", b"other-key")
    assert suppression_digest("phone", "0821234567", KEY) != suppression_digest(
        "email", "0821234567@x.co.za", KEY
    )


# Known answers: HMAC-SHA256 with the key b"test-key" over "<kind>:<normalised value>",
# computed once with the standard library and written out here.
KNOWN_DIGESTS = [
    (
        "email",
        " A@B.co.za ",
        b"email:a@b.co.za",
        "baae2ce60b304e3d7b8902f84f74fb077f229607e6936b520cdef8d4d3bf44bf",
    ),
    (
        "phone",
        "082 123 4567",
        b"phone:+27821234567",
        "4def9c534b4e62ec18a958c8368ca8527c72ad65a427557de6e9a08acb76bace",
    ),
    (
        "phone",
        "+27 (0)82 000 0101",
        b"phone:+27820000101",
        "c3259521f28d18f91332854feb483a78c82a67d935b5d3e1d5bd99c2a9f3cc75",
    ),
]


@pytest.mark.parametrize(("kind", "typed", "message", "hex_digest"), KNOWN_DIGESTS)
def test_digest_known_answers(kind, typed, message, hex_digest) -> None:
    # the stored form, independently of data.do_not_contact: stdlib HMAC over the message
    assert hmac.new(KEY, message, hashlib.sha256).hexdigest() == hex_digest
    assert suppression_digest(kind, typed, KEY) == hex_digest


def test_digest_refuses_values_that_are_not_identifiers() -> None:
    with pytest.raises(ValueError):
        suppression_digest("phone", "not a number", KEY)
    with pytest.raises(ValueError):
        suppression_digest("email", "no-at-sign", KEY)
    with pytest.raises(ValueError):
        suppression_digest("fax", "0821234567", KEY)


def test_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPRESSION_KEY", "from-env")
    assert suppression_key() == b"from-env"


def test_key_file_is_created_once_and_private(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("SUPPRESSION_KEY", raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    first = suppression_key()
    assert len(first) == 64
    assert suppression_key() == first
    path = tmp_path / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]  # no temporary file left behind
