"""Scheduler: holds each target until it is due, then sends `cmd.publish.<platform>`.

The timetable lives in the `scheduler` schema; an in-process alarm sleeps until the earliest due
row and is woken when an earlier one arrives, so firing is sub-second without a polling cadence.
"""
