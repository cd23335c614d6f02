"""Publisher: delivers each due target to its platform, one JetStream work queue per platform.

Attempts, per-container progress and outcomes live in the `publisher` schema; every outcome is
announced as an `evt.target.*` event through the outbox, in the transaction that records it.
"""
