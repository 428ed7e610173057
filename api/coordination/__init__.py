"""Run coordination, apart from HTTP: one module per concern.

=================  ===========================================================================
module             holds
=================  ===========================================================================
``interfaces``     :class:`StreamEvent` and the :class:`ThreadLock`, :class:`StreamBroker`,
                   :class:`Workers` interfaces (run records: :mod:`sessiongraph.checkpoints.runs`)
``memory``         in-process implementations (one server process)
``redis_lock``     the Redis FIFO thread lock with leases
``redis_streams``  the Redis Streams broker
``redis_workers``  replica leases renewed by heartbeats (dead replicas' runs are reclaimed)
``cancel_bus``     cancel requests between replicas (Redis pub/sub)
``factory``        :func:`open_coordination`: in-process or Redis, from the settings
=================  ===========================================================================
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
