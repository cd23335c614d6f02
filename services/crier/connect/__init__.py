"""Connect service: platform apps, connected social accounts and their tokens, end-users."""
