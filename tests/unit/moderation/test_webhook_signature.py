"""Webhook signatures: valid ones verify; tampering, other secrets and replays do not."""

from __future__ import annotations

import random

import pytest

from moderation.webhooks import backoff_delay, sign, verify

SECRET = b"s3cret"
BODY = b'{"id":"e1","type":"assessment.created"}'
T = 1_700_000_000


def test_signature_format_and_roundtrip() -> None:
    header = sign(SECRET, T, BODY)
    assert header.startswith(f"t={T},v1=") and len(header.split("v1=")[1]) == 64
    assert verify(SECRET, header, BODY, now=T + 10)


@pytest.mark.parametrize(
    ("secret", "body", "now", "why"),
    [
        (SECRET, BODY + b" ", T, "tampered body"),
        (b"other", BODY, T, "wrong secret"),
        (SECRET, BODY, T + 301, "replayed after the tolerance"),
        (SECRET, BODY, T - 301, "timestamp from the future"),
    ],
)
def test_verify_rejects(secret: bytes, body: bytes, now: int, why: str) -> None:
    assert not verify(secret, sign(SECRET, T, BODY), body, now=now), why


def test_verify_rejects_a_timestamp_swapped_into_a_valid_signature() -> None:
    digest = sign(SECRET, T, BODY).split("v1=")[1]
    assert not verify(SECRET, f"t={T + 100},v1={digest}", BODY, now=T + 100)


@pytest.mark.parametrize("header", ["", "garbage", f"t={T}", "v1=abc", f"t=notanint,v1={'0' * 64}"])
def test_verify_rejects_malformed_headers(header: str) -> None:
    assert not verify(SECRET, header, BODY, now=T)


def test_verify_accepts_any_of_several_signatures_for_secret_rotation() -> None:
    old = sign(b"old", T, BODY).split("v1=")[1]
    new = sign(SECRET, T, BODY).split("v1=")[1]
    assert verify(SECRET, f"t={T},v1={old},v1={new}", BODY, now=T)


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(n, rng).total_seconds() for n in range(1, 8)]
    for n, d in enumerate(delays, start=1):
        ceiling = min(3600.0, 2.0 * 2 ** (n - 1))
        assert ceiling / 2 <= d <= ceiling
    assert backoff_delay(40, rng).total_seconds() <= 3600
