"""Widgets of the work screen, grouped by area: the current ticket and the queue."""
