"""Connection pools: one SQLAlchemy pool per alias and connection parameters.

- ``base``: the pool of one alias (lifetime, failover, new connections, ending);
- ``taking``, ``returns``: how a connection is taken out of it, and comes back;
- ``checkout``: one connection out of SQLAlchemy's pool: its uses, parking
  between them, and its return policy;
- ``slot``: what is known of one physical connection (lifetime, session);
- ``liveness``: whether an idle connection can be handed out;
- ``watchdog``: the bound on a liveness ping (``ping_timeout``);
- ``gate``: fair waiting when the pool is full;
- ``connecting``, ``credentials``: opening a connection, with the password of
  the moment, on the right host;
- ``housekeeping``, ``maintenance``, ``leaks``: the background thread and what
  it does (idle connections, lifetimes, ``min_size``, leak reports);
- ``stats``: counters and :func:`mysqlpool.stats` figures;
- ``registry``: the pools of the process, ``close_pool()``, fork, pool keys.
"""

from .base import ConnectionPool
from .checkout import PooledConnection
from .registry import (
    close_pool,
    freeze,
    get_pool,
    password_digest,
    pool_for,
    pool_key,
    pools,
)
from .taking import PoolTimeout

__all__ = [
    "ConnectionPool", "PoolTimeout", "PooledConnection", "close_pool",
    "freeze", "get_pool", "password_digest", "pool_for", "pool_key", "pools",
]
