"""The offline embedder: 384 unit vectors, the same for the same text, closer for related texts."""

from __future__ import annotations

import math

import pytest

from sessiongraph.nodes.embeddings import (
    OFFLINE_DIMS,
    EmbeddingsConfigError,
    OfflineEmbeddings,
    _cached_vector,
    index_config,
)
from sessiongraph.settings import Settings


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_vectors_are_normalised_deterministic_and_semantic() -> None:
    embedder = OfflineEmbeddings()
    fact, question, unrelated = embedder.embed_documents(
        ["My daughter's name is Lina.", "What is my daughter called?", "The invoice is due on Friday."]
    )
    assert len(fact) == OFFLINE_DIMS
    assert math.isclose(math.sqrt(cosine(fact, fact)), 1.0, rel_tol=1e-4)
    # The same text gives the same vector, as a query or a document, computed again or cached.
    _cached_vector.cache_clear()
    assert embedder.embed_query("What is my daughter called?") == question
    assert cosine(fact, question) > 0.5 > cosine(fact, unrelated) + 0.2


def test_settings_choose_the_index() -> None:
    offline = index_config(Settings(embeddings="offline"))
    assert offline is not None and offline["dims"] == OFFLINE_DIMS and offline["fields"] == ["text"]
    assert index_config(Settings(embeddings="none")) is None
    with pytest.raises(EmbeddingsConfigError, match="SESSIONGRAPH_EMBEDDINGS_DIMS"):
        index_config(Settings(embeddings="openai:my-own-embedder"))
    with pytest.raises(ValueError, match="'offline', 'openai:<model>' or 'none'"):
        Settings(embeddings="word2vec")
