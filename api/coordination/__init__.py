"""Run coordination, apart from HTTP: one module per concern.

=====================  =======================================================================
module                 holds
=====================  =======================================================================
``interfaces``         :class:`StreamEvent` and the :class:`ThreadLock`, :class:`StreamBroker`,
                       :class:`Workers` interfaces (run records: :mod:`sessiongraph.checkpoints.runs`)
``cancel_bus``         the :class:`CancelBus` interface: cancel requests between replicas
``memory``             in-process implementations (one server process)
``leased_workers``     the heartbeat loop of replica leases, shared by Redis and PostgreSQL
``redis_lock``         the Redis FIFO thread lock with leases
``redis_streams``      the Redis Streams broker
``redis_workers``      replica leases as Redis keys (dead replicas' runs are reclaimed)
``redis_cancel``       cancel requests over Redis pub/sub
``postgres_listener``  the process's one ``LISTEN`` connection (reconnects by itself)
``postgres_lock``      the PostgreSQL FIFO thread lock: row leases, woken by ``NOTIFY``
``postgres_streams``   the PostgreSQL stream broker: an event table, fanned out by ``NOTIFY``
``postgres_workers``   replica leases in a table
``postgres_cancel``    cancel requests over ``NOTIFY``
``factory``            :func:`open_coordination`: in-process, Redis or PostgreSQL, from the settings
=====================  =======================================================================
"""

from sessiongraph.api.coordination.factory import Coordination, open_coordination
from sessiongraph.api.coordination.interfaces import (
    ACTIVE_STATUSES,
    RunRecord,
    RunRegistry,
    RunStatus,
    StreamBroker,
    StreamEvent,
    Subscription,
    ThreadLock,
    Workers,
)

__all__ = [
    "ACTIVE_STATUSES",
    "Coordination",
    "RunRecord",
    "RunRegistry",
    "RunStatus",
    "StreamBroker",
    "StreamEvent",
    "Subscription",
    "ThreadLock",
    "Workers",
    "open_coordination",
]
