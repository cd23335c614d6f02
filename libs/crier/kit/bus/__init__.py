"""NATS JetStream plumbing: streams, the outbox relay, idempotent consumers, request/reply."""

from crier.kit.bus.connection import Bus

__all__ = ["Bus"]
