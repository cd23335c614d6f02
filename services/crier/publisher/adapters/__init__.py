"""Side effects: the publisher's tables and the platform adapters it delivers through."""
