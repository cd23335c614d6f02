"""Side effects: the scheduler's tables."""
