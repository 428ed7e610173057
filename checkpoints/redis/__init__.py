"""``redis://host:port/db``: sessions in Redis (RedisJSON + RediSearch), shared by API replicas."""

from sessiongraph.checkpoints.redis.backend import RedisBackend

__all__ = ["RedisBackend"]
