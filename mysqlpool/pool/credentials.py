"""The password of each new connection: from ``password_provider`` (RDS IAM
tokens, Vault), or the alias's current PASSWORD.

The password is not part of a pool's identity: rotating it (or editing
PASSWORD in settings) changes what new connections log in with, and leaves the
pool and the connections already open alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from ..redaction import is_secret_name

#: Connect arguments that carry the password (Django gives "password").
PASSWORD_ARGUMENT = "password"


def without_secrets(params: Mapping[str, Any]) -> dict[str, Any]:
    """Connect arguments minus the login password(s), kept apart."""
    return {name: value for name, value in params.items()
            if not (is_secret_name(name) and name != "ssl_key_password")}


class Credentials:
    """Where a pool's new connections get their password."""

    def __init__(self, alias: str, provider: Callable[[Mapping[str, Any]], Any] | None,
                 settings_dict: Mapping[str, Any], params: Mapping[str, Any]) -> None:
        self.alias = alias
        self.provider = provider
        self._lock = threading.Lock()
        self._settings = settings_dict
        self._secrets = _secrets(params)

    @property
    def rotating(self) -> bool:
        """Whether a fresh password can be asked for (a provider is set)."""
        return self.provider is not None

    def update(self, settings_dict: Mapping[str, Any], params: Mapping[str, Any]) -> None:
        """The alias's settings as resolved now (PASSWORD may have been edited)."""
        with self._lock:
            self._settings = settings_dict
            self._secrets = _secrets(params)

    def connect_arguments(self) -> dict[str, Any]:
        """The secret connect arguments for one new connection."""
        with self._lock:
            settings_dict, secrets = self._settings, dict(self._secrets)
        if self.provider is not None:
            password = self.provider(settings_dict)
            if not isinstance(password, str):
                raise ImproperlyConfigured(
                    f"DATABASES[{self.alias!r}]: password_provider returned a "
                    f"{type(password).__name__}, not the password: it must return a str."
                )
            secrets[PASSWORD_ARGUMENT] = password
            secrets.pop("passwd", None)
        return secrets


def _secrets(params: Mapping[str, Any]) -> dict[str, Any]:
    kept = without_secrets(params)
    return {name: value for name, value in params.items() if name not in kept}
