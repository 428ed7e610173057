"""Structured outputs the LLM nodes ask the chat model for (via ``with_structured_output``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class UnderstandingOutput(BaseModel):
    """Your reading of the user's latest request."""

    goal: str = Field(description="The user's goal, restated in one sentence.")
    needs_tools: bool = Field(
        description="True when answering needs a tool (calculation, time, text stats, ...)."
    )


class PlanOutput(BaseModel):
    """An ordered plan of steps to satisfy the user's goal with the available tools."""

    steps: list[str] = Field(description="Short imperative steps, in order (at most 6).", max_length=12)


class ReflectionOutput(BaseModel):
    """Your verdict on whether the step results are enough to answer."""

    verdict: Literal["answer", "replan"] = Field(
        description="'answer' when the results suffice, 'replan' when a different plan is needed."
    )
    reason: str = Field(description="One sentence explaining the verdict.")


class SummaryOutput(BaseModel):
    """The running summary of the conversation, extended with the newly folded turns."""

    summary: str = Field(description="The updated running summary: the previous summary plus the new facts.")
