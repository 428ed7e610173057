"""What the extra doors (OpenAI chat and Responses, A2A, WebSocket) share: turns started through the
run manager on the caller's threads, and run events read as text."""
