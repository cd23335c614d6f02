"""Webhook dispatcher: endpoints, the public event feed, and signed deliveries with retries.

Internal `evt.*` events become public events (`post.published`, …) stored in the `webhooks`
schema together with one delivery per subscribed endpoint, in the transaction that claims the
internal event; a dispatcher loop sends due deliveries with Standard Webhooks signatures.
"""
