"""Crier's public edge: API keys, the Post aggregate and the HTTP API."""
