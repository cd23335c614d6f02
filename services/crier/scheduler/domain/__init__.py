"""Timetable rules with no I/O."""
