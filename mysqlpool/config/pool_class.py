"""``MYSQLPOOL_BACKEND``: which SQLAlchemy pool class, and what it accepts."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from sqlalchemy import pool as sa_pool

from ..redaction import redact, shown

DEFAULT_BACKEND = "QueuePool"

# Arguments of SQLAlchemy's pools that users do not set here.
_INTERNAL = {"self", "creator", "dialect", "events", "_dispatch", "args", "kw", "kwargs"}

# Pool classes that cannot be used safely under Django's one-connection-per-thread
# model, and why (each is also refused in its subclasses).
_UNSAFE_CLASSES = {
    sa_pool.StaticPool: "it hands one DB-API connection to every thread at once, so "
    "two threads' statements and transactions interleave on it",
    sa_pool.SingletonThreadPool: "past pool_size it closes connections other threads "
    "are still using",
}


def pool_class_arguments(pool_class: type) -> set[str]:
    """The keyword arguments a SQLAlchemy pool class accepts from users."""
    names: set[str] = set()
    for klass in pool_class.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            names.update(inspect.signature(init).parameters)
    if issubclass(pool_class, sa_pool.AssertionPool):
        names.add("store_traceback")  # taken from **kw
    return names - _INTERNAL


def pool_class_defaults(pool_class: type) -> dict[str, Any]:
    """The defaults of the class's keyword arguments (pool_size, max_overflow, ...)."""
    return {
        name: parameter.default
        for klass in reversed(pool_class.__mro__)
        if "__init__" in klass.__dict__
        for name, parameter in inspect.signature(klass.__dict__["__init__"]).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }


def keeps_connections(pool_class: type) -> bool:
    """Whether the class keeps idle connections (min_size and max_idle mean something)."""
    return issubclass(pool_class, sa_pool.QueuePool)


def resolve_pool_class(value: Any) -> type[sa_pool.Pool]:
    """``MYSQLPOOL_BACKEND``: a class name in ``sqlalchemy.pool``, a dotted path or a class."""
    builtin = sorted(
        name for name in dir(sa_pool)
        if name.endswith("Pool") and _usable_pool_class(getattr(sa_pool, name))
    )
    valid = (
        f"Use one of {', '.join(builtin)} (the classes in sqlalchemy.pool), or the "
        "dotted path of a sqlalchemy.pool.Pool subclass."
    )
    cls: Any = value
    if isinstance(value, str):
        if "." in value:
            module_name, _, name = value.rpartition(".")
            try:
                cls = getattr(importlib.import_module(module_name), name)
            except (ImportError, AttributeError) as exc:
                reason = redact(str(exc))
                raise ImproperlyConfigured(
                    f"MYSQLPOOL_BACKEND = {shown(value)} cannot be imported ({reason}). {valid}"
                ) from (exc if reason == str(exc) else None)  # no chained secret
        else:
            cls = getattr(sa_pool, value, None)
    if not _usable_pool_class(cls):
        reason = "is not a SQLAlchemy pool class"
        if isinstance(cls, type) and issubclass(cls, sa_pool.Pool):
            reason = "is an asyncio pool, which Django's synchronous drivers cannot use"
        unsafe = _unsafe_reason(cls)
        if unsafe:
            reason = (f"cannot be used with Django's threads: {unsafe}. For a single "
                      "connection per process, use QueuePool with "
                      "MYSQLPOOL_ARGUMENTS = {'pool_size': 1, 'max_overflow': 0}")
        raise ImproperlyConfigured(f"MYSQLPOOL_BACKEND = {shown(value)} {reason}. {valid}")
    return cls


def _unsafe_reason(cls: Any) -> str | None:
    if isinstance(cls, type):
        for unsafe, reason in _UNSAFE_CLASSES.items():
            if issubclass(cls, unsafe):
                return reason
    return None


def _usable_pool_class(cls: Any) -> bool:
    return (
        isinstance(cls, type)
        and issubclass(cls, sa_pool.Pool)
        and cls is not sa_pool.Pool
        and not getattr(cls, "_is_asyncio", False)
        and _unsafe_reason(cls) is None
    )
