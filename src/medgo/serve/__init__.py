"""Serving: an OpenAI-compatible API, clinical decision support, a web chat page, and deployment helpers."""
