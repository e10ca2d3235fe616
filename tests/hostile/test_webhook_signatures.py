"""Webhook signatures from the receiver's side: forged, tampered, replayed or garbled headers never
verify, and verifying never raises."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.webhooks import sign, verify
from tests.hostile.profile import SCORING_EXAMPLES

SECRET = b"whsec-test-secret"
BODY = b'{"id":"evt_1","type":"assessment.created","data":{"verdict":"hold"}}'


def test_a_fresh_signature_verifies_and_nothing_else_does() -> None:
    now = int(time.time())
    header = sign(SECRET, now, BODY)
    assert verify(SECRET, header, BODY, now)
    assert not verify(b"other-secret", header, BODY, now)  # forged with another secret
    assert not verify(SECRET, header, BODY.replace(b"hold", b"allow"), now)  # tampered body
    digest = header.partition("v1=")[2]
    assert not verify(SECRET, f"t={now + 1},v1={digest}", BODY, now)  # timestamp swapped
    assert not verify(SECRET, f"t={now}", BODY, now)  # no signature
    assert not verify(SECRET, f"v1={digest}", BODY, now)  # no timestamp


def test_replays_outside_the_tolerance_are_refused() -> None:
    sent = int(time.time()) - 3600
    header = sign(SECRET, sent, BODY)
    assert verify(SECRET, header, BODY, sent + 299)
    assert not verify(SECRET, header, BODY, sent + 301)  # captured and replayed later
    assert not verify(SECRET, sign(SECRET, sent + 3600, BODY), BODY, sent)  # dated in the future


def test_rotated_secrets_accept_any_listed_signature() -> None:
    now = int(time.time())
    old = sign(b"old", now, BODY).partition("v1=")[2]
    new = sign(SECRET, now, BODY).partition("v1=")[2]
    assert verify(SECRET, f"t={now},v1={old},v1={new}", BODY, now)
    assert not verify(SECRET, f"t={now},v1={old}", BODY, now)


@settings(max_examples=SCORING_EXAMPLES, deadline=None)
@given(st.text(max_size=300), st.binary(max_size=200))
def test_garbage_headers_never_raise_nor_verify(header: str, body: bytes) -> None:
    assert verify(SECRET, header, body, time.time()) is False
