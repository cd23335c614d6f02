"""Use cases: put a created post's targets on the timetable, cancel them, fire what is due."""
