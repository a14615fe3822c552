"""Green threads: whether gevent or eventlet has monkey-patched this process.

Only looks at libraries the process has already imported: nothing here
imports gevent or eventlet.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

#: The libraries whose monkey-patching mysqlpool knows, in the order checked.
LIBRARIES = ("gevent", "eventlet")


def patched_by() -> str | None:
    """``"gevent"`` or ``"eventlet"`` when that library has patched ``socket``
    in this process (so a green thread that waits on a socket lets the others
    run), else None."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None:
        try:
            if monkey.is_module_patched("socket"):
                return "gevent"
        except Exception:  # noqa: BLE001 - an unexpected gevent: not patched
            pass
    patcher = sys.modules.get("eventlet.patcher")
    if patcher is not None:
        try:
            if patcher.is_monkey_patched("socket"):
                return "eventlet"
        except Exception:  # noqa: BLE001
            pass
    return None


def installed() -> list[str]:
    """The green-thread libraries installed (imported or not)."""
    return [name for name in LIBRARIES if importlib.util.find_spec(name) is not None]


def original(module: str, name: str) -> Any:
    """``module.name`` as it was before gevent or eventlet patched it (None when
    it has no such attribute): for calls that never block, where the patched
    version would still switch to another green thread."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None:
        try:
            if monkey.is_module_patched(module):
                return monkey.get_original(module, name)
        except Exception:  # noqa: BLE001 - an unexpected gevent: use the module's
            pass
    patcher = sys.modules.get("eventlet.patcher")
    if patcher is not None:
        try:
            if patcher.is_monkey_patched(module):
                return getattr(patcher.original(module), name, None)
        except Exception:  # noqa: BLE001
            pass
    return getattr(importlib.import_module(module), name, None)
