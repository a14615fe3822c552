"""What each pool argument may be: one check per argument, each returning what
is wrong (to follow "<setting> = <value>: <name> ...") or None."""

from __future__ import annotations

import importlib
import math
import numbers
from collections.abc import Callable
from typing import Any, cast

from ..targets import TARGET_SESSION_ATTRS

Check = Callable[[Any], "str | None"]


def whole(minimum: int, hint: str = "") -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            return f"must be a whole number >= {minimum}{hint}"
        return None

    return check


def seconds(allow_none: bool = False, allow_minus_one: bool = False, minimum: float = 0,
            inclusive: bool = False) -> Check:
    def check(value: Any) -> str | None:
        if value is None and allow_none:
            return None
        if allow_minus_one and value == -1 and not isinstance(value, bool):
            return None
        ok = (
            isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value)
            # numbers.Real declares only < and <=; every real number compares.
            and (cast(float, value) >= minimum if inclusive else cast(float, value) > minimum)
        )
        if not ok:
            valid = f"a finite number of seconds {'>=' if inclusive else '>'} {minimum}"
            if allow_minus_one:
                valid += " (or -1 for never)"
            if allow_none:
                valid += " or None" + ("" if allow_minus_one else " (never)")
            return f"must be {valid}"
        return None

    return check


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be True or False"


def callable_or_path(value: Any) -> str | None:
    """A callable, or the dotted path of one ("myproject.db.rds_token")."""
    if value is None or callable(value):
        return None
    if not isinstance(value, str) or "." not in value:
        return "must be a callable or the dotted path of one, such as 'myproject.db.token'"
    try:
        resolved = import_callable(value)
    except (ImportError, AttributeError) as exc:
        return f"cannot be imported ({type(exc).__name__}: {exc})"
    if not callable(resolved):
        return f"names {type(resolved).__name__!s}, which is not callable"
    return None


def one_of(*choices: str) -> Check:
    def check(value: Any) -> str | None:
        if value not in choices:
            return f"must be one of {', '.join(repr(c) for c in choices)}"
        return None

    return check


def import_callable(path: str) -> Any:
    module_name, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module_name), name)


#: One check per argument; arguments without one are checked by SQLAlchemy.
CHECKS: dict[str, Check] = {
    "pool_size": whole(0, " (0 means no limit)"),
    "max_overflow": whole(-1, " (-1 means no limit)"),
    "max_size": whole(1),
    "min_size": whole(0),
    "timeout": seconds(),
    "recycle": seconds(allow_minus_one=True, allow_none=True),
    "max_lifetime": seconds(allow_minus_one=True, allow_none=True),
    "max_idle": seconds(allow_none=True),
    "ping_timeout": seconds(),
    "use_lifo": boolean,
    "pre_ping": boolean,
    "store_traceback": boolean,
    "echo": lambda v: None if v in (True, False, "debug") else "must be True, False or 'debug'",
    "logging_name": lambda v: None if v is None or isinstance(v, str) else "must be a string",
    "ping_after_idle": seconds(allow_none=True, inclusive=True),
    "leak_warning_after": seconds(allow_none=True),
    "password_provider": callable_or_path,
    "load_balance_hosts": one_of("disable", "random"),
    "target_session_attrs": one_of(*TARGET_SESSION_ATTRS),
    "max_replication_lag": seconds(allow_none=True, inclusive=True),
    "host_retry_after": seconds(inclusive=True),
}
