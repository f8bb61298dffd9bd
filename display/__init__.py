"""The call screen and its voice (SPEC §6): `queue-display` / `python -m display`."""

from display.app import CallScreenApp, DisplayOptions, make_app

__all__ = ["CallScreenApp", "DisplayOptions", "make_app"]
