"""Platform adapters: one module per social network, speaking its real API (and `sandbox`, which
simulates one). Used by the publisher to deliver posts and by connect for OAuth."""
