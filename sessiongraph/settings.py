"""Settings: the one place that reads the environment and the optional YAML file.

Every setting can be given as an environment variable ``SESSIONGRAPH_<NAME>`` (for example
``SESSIONGRAPH_CHECKPOINT_URL=redis://127.0.0.1:6379/0``), in a YAML file named by
``SESSIONGRAPH_CONFIG`` (default ``./sessiongraph.yaml`` when it exists), or passed to
:class:`Settings` directly. Precedence: init arguments > environment > ``.env`` > YAML > defaults.

Example::

    from sessiongraph.settings import Settings

    settings = Settings(checkpoint_url="memory://", model="offline")
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from sessiongraph.checkpoints.factory import backend_class

DEFAULT_CONFIG_FILE = "sessiongraph.yaml"
DEFAULT_PIN_PATTERNS = (
    r"\bmy name is\b",
    r"\bcall me\b",
    r"\bremember (?:that|this)\b",
    r"\bI (?:always |really )?(?:prefer|am allergic to)\b",
    r"\bfrom now on\b",
)
"""Pin rules by default: a stated name, an explicit "remember that ...", standing preferences."""


def _yaml_file() -> Path | None:
    configured = os.environ.get("SESSIONGRAPH_CONFIG")
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise FileNotFoundError(
                f"SESSIONGRAPH_CONFIG names {configured!r}, which is not a file; "
                "fix the path or unset the variable."
            )
        return path
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


class AssistantSpec(BaseModel):
    """An assistant declared in the settings file, created (or brought up to date) at start-up.

    Example (``sessiongraph.yaml``)::

        assistants:
          - name: terse-helper
            description: Short answers, calculator only.
            model: offline
            temperature: 0.2
            enabled_tools: [calculator]
            context: {max_replans: 0}
            rate_limit: 30/minute
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="Unique name; the assistant id derives from it.")
    assistant_id: str | None = Field(
        default=None, description="A fixed UUID (default: derived from the name)."
    )
    description: str | None = None
    model: str | None = Field(default=None, description="Chat model of its runs (a context default).")
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    enabled_tools: list[str] | None = Field(default=None, description="Tools its runs may call.")
    context: dict[str, Any] = Field(default_factory=dict, description="Other context defaults.")
    metadata: dict[str, Any] = Field(default_factory=dict)
    rate_limit: str | None = Field(
        default=None, description="Run creations allowed on this assistant ('limits' notation), per caller."
    )


class Settings(BaseSettings):
    """Configuration of sessiongraph: backend, model, HTTP server, limits and retention."""

    model_config = SettingsConfigDict(
        env_prefix="SESSIONGRAPH_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_nested_delimiter="__",
    )

    # --- sessions -------------------------------------------------------------------------
    checkpoint_url: str = Field(
        default="sqlite:///data/sessiongraph.db",
        description=(
            "Where sessions live: memory://, sqlite:///path/to/file.db, redis://host:port/db or "
            "postgresql://user:password@host:port/db."
        ),
    )
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0, description="SQLite busy timeout.")
    postgres_pool_size: int = Field(
        default=20, ge=2, description="Most connections to PostgreSQL per process (postgresql:// only)."
    )
    coordination_url: str | None = Field(
        default=None,
        description=(
            "Where API replicas coordinate runs (thread lock, run records, streams, cancels): "
            "redis://host:port/db, postgresql://user:password@host:port/db, or memory:// for one "
            "process. Empty: the checkpoint URL when it is redis:// or postgresql://, else memory://."
        ),
    )

    # --- model ----------------------------------------------------------------------------
    model: str = Field(
        default="",
        description=(
            "Chat model: 'offline' (deterministic, no network) or 'openai:<model name>'. "
            "Empty picks 'openai:<openai_model>' when an OpenAI base URL or key is set, else 'offline'."
        ),
    )
    openai_base_url: str | None = Field(
        default=None, description="Base URL of any OpenAI-compatible server (vLLM, Ollama, llama.cpp)."
    )
    openai_api_key: str | None = Field(default=None, description="API key for the OpenAI-compatible server.")
    openai_model: str = Field(default="gpt-4o-mini", description="Model name used when model is empty.")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    request_timeout_s: float = Field(default=60.0, gt=0, description="Timeout of one model request.")

    # --- long-term memory -----------------------------------------------------------------
    embeddings: str = Field(
        default="offline",
        description=(
            "Embedder of the memory store's semantic index: 'offline' (all-MiniLM-L6-v2 int8, shipped "
            "in a wheel), 'openai:<model>' (the OpenAI-compatible endpoint above) or 'none' (recall "
            "falls back to the most recent archived passages)."
        ),
    )
    embeddings_dims: int | None = Field(
        default=None, gt=0, description="Vector size of an 'openai:<model>' embedder the code does not know."
    )
    pin_patterns: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PIN_PATTERNS),
        description=(
            "Regular expressions (case-insensitive): a user message matching one is pinned when it is "
            "summarized away, and stays verbatim in every later prompt. Empty list: no rule pins."
        ),
    )

    # --- HTTP API -------------------------------------------------------------------------
    host: str = Field(default="127.0.0.1", description="Address the API binds to.")
    port: int = Field(default=8000, ge=0, le=65535)
    api_keys: dict[str, str] = Field(
        default_factory=dict,
        description="API key -> owner. Empty: no auth, and the server binds to loopback only.",
    )
    rate_limit: str = Field(
        default="120/minute",
        description="Per-key rate limit ('limits' notation); applies only when api_keys are set.",
    )
    rate_limit_storage: str = Field(
        default="memory://", description="'limits' storage URL (memory:// or redis://)."
    )
    max_body_bytes: int = Field(default=1_048_576, gt=0, description="Largest accepted request body.")
    # Runs mostly wait on the model, so a slot costs little while it waits: size the slots by the
    # sessions that talk at once, not by cores.
    max_concurrent_runs: int = Field(
        default=256, gt=0, description="Runs executing at once, per server process."
    )
    max_queued_runs: int = Field(default=1024, ge=0, description="Runs waiting for a slot before 503.")
    durability: Literal["sync", "async", "exit"] = Field(
        default="async",
        description=(
            "When HTTP runs that ask for no 'durability' write checkpoints: 'async' after each step "
            "(history to time-travel to in Studio), 'exit' once per run (15-20 % less CPU per "
            "chat turn; a crash mid-run loses only that unacknowledged run either way)."
        ),
    )
    heartbeat_s: float = Field(default=5.0, gt=0, description="Seconds between SSE heartbeat comments.")
    drain_grace_s: float = Field(
        default=20.0,
        ge=0,
        description=(
            "On SIGTERM, how long running runs may finish before they are stopped and rolled back "
            "(no new runs are admitted meanwhile)."
        ),
    )
    worker_lease_s: float = Field(
        default=15.0,
        gt=0,
        description=(
            "How long a dead server process's runs stay theirs: replicas renew leases this long "
            "(Redis or PostgreSQL coordination: worker and thread lock leases), and crash recovery "
            "sweeps this often."
        ),
    )
    stream_buffer_events: int = Field(
        default=1000,
        gt=0,
        description="Events buffered for one slow stream reader before it is dropped (in-process).",
    )
    max_running_runs_per_owner: int = Field(
        default=4,
        gt=0,
        description=(
            "Runs of one owner (an API key's owner; no cap without auth) executing at once on this server; "
            "the owner's further runs wait, so one owner cannot hold every run slot."
        ),
    )
    max_queued_runs_per_owner: int = Field(
        default=16,
        ge=0,
        description="Runs of one owner waiting for a slot; beyond it that owner's new runs answer 503.",
    )
    auth_failure_limit: str = Field(
        default="20/minute",
        description=(
            "Failed authentications allowed per client address ('limits' notation); beyond it every "
            "request from that address answers 429 with Retry-After until the window passes."
        ),
    )
    metrics_key: str | None = Field(
        default=None,
        description=(
            "With auth on, /metrics needs an API key; a scraper may send this key instead "
            "(Authorization: Bearer <metrics_key>), so it needs no owner."
        ),
    )
    metrics_open_path: str | None = Field(
        default=None,
        description=(
            "Also serve the metrics without any key at this path (e.g. /internal/metrics), for a "
            "scraper on a network that only it can reach. None: no such path."
        ),
    )

    # --- per-run maximums (a request beyond one answers 422 naming the limit) ------------
    max_recursion_limit: int = Field(
        default=200, gt=0, description="Largest config.recursion_limit a run may ask for."
    )
    default_recursion_limit: int = Field(
        default=100,
        gt=0,
        description=(
            "The recursion_limit of a run that asks for none (LangGraph's own default is about 10,000 "
            "steps; a turn at the largest replan and tool-round budgets takes under 100)."
        ),
    )
    max_replans_limit: int = Field(default=10, ge=0, description="Largest context.max_replans.")
    max_tool_rounds_limit: int = Field(default=20, ge=0, description="Largest context.max_tool_rounds.")
    max_message_chars: int = Field(
        default=100_000, gt=0, description="Longest text of one input message, in characters."
    )
    max_input_messages: int = Field(default=200, gt=0, description="Most messages in one run's input.")
    tool_timeout_s: float = Field(default=30.0, gt=0, description="Time limit of one tool call.")
    tool_max_output_chars: int = Field(
        default=20_000, gt=0, description="Longest tool result kept (longer ones are cut)."
    )
    cors_origins: list[str] = Field(
        default_factory=lambda: [
            "https://smith.langchain.com",
            "http://localhost:3000",
            "http://127.0.0.1:3000",
        ],
        description="Origins allowed by CORS (LangGraph Studio's by default).",
    )

    # --- assistants and crons ------------------------------------------------------------
    assistants: list[AssistantSpec] = Field(
        default_factory=list, description="Assistants declared in the settings file (see AssistantSpec)."
    )
    cron_tick_s: float = Field(default=10.0, gt=0, description="How often due cron schedules are checked.")

    # --- retention ------------------------------------------------------------------------
    checkpoint_keep_latest: int | None = Field(
        default=None, ge=1, description="Keep only the newest N checkpoints per thread (None keeps all)."
    )
    thread_ttl_minutes: float | None = Field(
        default=None, gt=0, description="Delete threads idle for longer than this (None: never)."
    )
    ttl_sweep_interval_s: float = Field(
        default=60.0, gt=0, description="How often expired threads are swept."
    )
    memory_max_threads: int = Field(
        default=10_000, gt=0, description="memory:// keeps at most this many threads (LRU eviction)."
    )

    @field_validator("checkpoint_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        backend_class(value)  # BackendURLError (a ValueError) names the schemes that work
        return value

    @field_validator("embeddings")
    @classmethod
    def _embeddings_spec(cls, value: str) -> str:
        provider, _, name = value.strip().partition(":")
        if value.strip() not in ("offline", "none") and not (provider == "openai" and name):
            raise ValueError(f"embeddings {value!r}: use 'offline', 'openai:<model>' or 'none'")
        return value.strip()

    @field_validator("pin_patterns")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pin pattern {pattern!r} is not a regular expression: {exc}") from exc
        return value

    @field_validator("metrics_open_path")
    @classmethod
    def _metrics_path(cls, value: str | None) -> str | None:
        if value and (not value.startswith("/") or value == "/metrics"):
            raise ValueError(
                f"metrics_open_path {value!r} must be a path of its own starting with '/', such as "
                "/internal/metrics (not /metrics, which needs a key when auth is on)"
            )
        return value or None

    @field_validator("coordination_url")
    @classmethod
    def _coordination_scheme(cls, value: str | None) -> str | None:
        schemes = ("memory://", "redis://", "rediss://", "postgresql://", "postgres://")
        if value is not None and not value.startswith(schemes):
            raise ValueError(
                f"coordination_url {value!r} has an unknown scheme; use redis://host:port/db, "
                "postgresql://user:password@host:port/db or memory://"
            )
        return value or None

    @property
    def resolved_model(self) -> str:
        """The model spec in use: ``model`` if set, else OpenAI when configured, else ``offline``."""
        if self.model:
            return self.model
        if self.openai_base_url or self.openai_api_key:
            return f"openai:{self.openai_model}"
        return "offline"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Add the YAML file below the environment in precedence."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        yaml_path = _yaml_file()
        if yaml_path is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_path))
        sources.append(file_secret_settings)
        return tuple(sources)


def export_to_environment(settings: Settings, *names: str) -> None:
    """Put fields of ``settings`` into this process's environment (``SESSIONGRAPH_<NAME>``), so
    child processes (API workers) read the same values with :func:`get_settings`."""
    for name in names:
        value = getattr(settings, name)
        key = f"SESSIONGRAPH_{name.upper()}"
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = str(value)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()


def settings_with(**overrides: Any) -> Settings:
    """A copy of the process settings with some fields replaced (validated)."""
    return Settings(**{**get_settings().model_dump(), **overrides})
