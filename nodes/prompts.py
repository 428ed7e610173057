"""Prompt texts, one constant per node. ``{placeholders}`` are filled with ``str.format``."""

from __future__ import annotations

SYSTEM_BASE = (
    "You are sessiongraph, a careful assistant that works in steps and uses tools when they help. "
    "The current time is {now}."
)

SUMMARY_CONTEXT = "Summary of the earlier conversation (older turns were folded into it):\n{summary}"

PINNED_HEADING = "Pinned facts (messages from earlier turns, kept verbatim):"
RECALLED_HEADING = (
    "Recalled context (archived passages from earlier turns that may bear on the latest message; "
    "they are memory, not part of the conversation below):"
)
MEMORY_END = "(end of recalled context)"

UNDERSTAND = (
    "Read the user's latest message in the conversation. Restate their goal in one sentence and decide "
    "whether answering needs one of these tools: {tools}."
)

PLAN = (
    "Write a short ordered plan (at most 6 steps) to reach this goal with the tools {tools}.\n"
    "Goal: {goal}\n{previous}"
)
PLAN_PREVIOUS = "A previous attempt was judged insufficient: {reason}\nResults so far:\n{results}"

EXECUTE = (
    "Carry out the plan below by calling tools. Call several tools at once when steps are independent. "
    "When every step has a result, reply with a one-line note and no tool call.\n"
    "Plan:\n{plan}\nResults so far:\n{results}"
)

REFLECT = (
    "Judge whether the results below are enough to answer the user's goal. Reply 'answer' if so, "
    "or 'replan' with a reason if a different plan is needed.\n"
    "Goal: {goal}\nPlan:\n{plan}\nResults:\n{results}"
)

ANSWER = (
    "Write the final reply to the user's latest message. Use the tool results below when present and "
    "say plainly when a step failed.\n{results}{plan_note}"
)
PLAN_REJECTED_NOTE = "\nThe reviewer rejected the plan; do not carry it out. Reason: {reason}"

SUMMARIZE = (
    "You maintain a running summary of a conversation. Extend the previous summary with the facts, "
    "requests, decisions and results from the new messages. Keep names, numbers and open questions. "
    "Keep it under {max_words} words. Return the whole updated summary."
)
SUMMARIZE_INPUT = "Previous summary:\n{summary}\n\nNew messages to fold in:\n{transcript}"

NO_RESULTS = "(no tool results)"

STRUCTURED_RETRY_NAME = "structured_output_retry"
"""``name`` of the human message asking the model to repeat a malformed structured reply."""
