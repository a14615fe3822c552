"""Secrets never shown (no server): URLs, password-like keys, nested values."""

from __future__ import annotations

import pytest

from mysqlpool.redaction import MASK, is_secret_name, masked, redact, shown

SECRET = "pa/ss#wo?rd@x"


@pytest.mark.parametrize("text, expected", [
    ("mysql://app:hunter2@db/app", f"mysql://app:{MASK}@db/app"),
    ("mysql://app:hunter2@db:3306/app?ssl=1", f"mysql://app:{MASK}@db:3306/app?ssl=1"),
    # Unescaped / # ? @ in a pasted password: masked whole, not in part.
    (f"mysql://app:{SECRET}@db/app", f"mysql://app:{MASK}@db/app"),
    ("mysql://app:p/w@db/app", f"mysql://app:{MASK}@db/app"),
    ("mysql://app:p#w@db/app", f"mysql://app:{MASK}@db/app"),
    ("mysql://app:p?w@db/app", f"mysql://app:{MASK}@db/app"),
    ("mysql://app:p@w@db/app", f"mysql://app:{MASK}@db/app"),
    ("'mysql://app:pw@db/app' and more", f"'mysql://app:{MASK}@db/app' and more"),
    ("mysql://app@db/app", "mysql://app@db/app"),  # no password: unchanged
    ("no url here", "no url here"),
])
def test_passwords_in_urls_are_masked(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("name, secret", [
    ("PASSWORD", True), ("password", True), ("passwd", True), ("password1", True),
    ("ssl_key_password", True), ("client_secret", True), ("token", True),
    ("USER", False), ("HOST", False), ("pool_size", False), (3, False), (None, False),
])
def test_secret_names(name, secret):
    assert is_secret_name(name) is secret


def test_nested_values_are_masked_and_shown_without_secrets():
    value = {"USER": "u", "PASSWORD": SECRET, "OPTIONS": {"ssl": {"password": SECRET}},
             "pairs": [("passwd", SECRET)], "url": f"mysql://u:{SECRET}@h/d"}
    assert masked(value)["PASSWORD"] == MASK
    assert masked(value)["OPTIONS"]["ssl"]["password"] == MASK
    assert masked(value)["pairs"] == [("passwd", MASK)]
    assert SECRET not in shown(value)
