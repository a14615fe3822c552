"""Keeping passwords out of messages, logs and pool keys.

Settings end up in error messages (which name the bad value) and connection
parameters in pool keys. A value put under the wrong setting may be a password
(``MYSQLPOOL_ARGUMENTS = DATABASES["default"]``) or a URL with one in it
(``OPTIONS["pool"] = DATABASE_URL``); these helpers mask both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "********"

_SECRET_NAME = re.compile(r"passw|secret|token", re.IGNORECASE)
# scheme://user:password@host -> scheme://user:********@host. The password runs
# to the last "@" of the URL: people paste passwords with "/", "#", "?" and "@"
# unescaped, and hiding part of a host name is better than showing a secret.
_URL_CREDENTIALS = re.compile(r"(://[^/?#@\s:'\"]*:)[^\s'\"]*@")


def is_secret_name(name: Any) -> bool:
    """Whether a setting or parameter of this name holds a secret (password,
    passwd, password1, ssl_key_password, ...)."""
    return isinstance(name, str) and _SECRET_NAME.search(name) is not None


def redact(text: str) -> str:
    """``text`` with the passwords of any URLs in it masked."""
    return _URL_CREDENTIALS.sub(rf"\g<1>{MASK}@", text)


def shown(value: Any) -> str:
    """``repr(value)`` for a message: secrets under password-like keys and in URLs masked."""
    return redact(repr(masked(value)))


def masked(value: Any) -> Any:
    """A copy of ``value`` with what password-like keys hold replaced by a mask."""
    if isinstance(value, Mapping):
        return {
            key: MASK if is_secret_name(key) else masked(item) for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and is_secret_name(value[0]):
            items = [value[0], MASK]  # a (name, value) pair
        else:
            items = [masked(item) for item in value]
        return items if isinstance(value, list) else tuple(items)
    return value
