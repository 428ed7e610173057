"""Run coordination, apart from HTTP: one module per concern.

=================  ===========================================================================
module             holds
=================  ===========================================================================
``interfaces``     :class:`RunRecord`, :class:`StreamEvent` and the :class:`ThreadLock`,
                   :class:`RunRegistry`, :class:`StreamBroker` interfaces
``memory``         in-process implementations (one server process)
``redis_lock``     the Redis FIFO thread lock with leases
``redis_runs``     the Redis run registry
``redis_streams``  the Redis Streams broker
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
    "open_coordination",
]
