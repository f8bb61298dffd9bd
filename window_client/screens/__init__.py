"""Screens of the window client: login, work, and the dialogs opened from the work screen."""
