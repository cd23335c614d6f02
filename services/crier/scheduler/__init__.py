"""Scheduler: holds each target until it is due, then sends it to its platform's publishers
(`cmd.publish.<platform>.due.<lane>` for a scheduled target, `….now.<lane>` otherwise).

The timetable lives in the `scheduler` schema; an in-process alarm sleeps until the earliest due
row and is woken when an earlier one arrives, so firing is sub-second without a polling cadence.
"""
