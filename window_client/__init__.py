"""The window staff's terminal client (Textual): log in at a window, call and serve tickets."""

from window_client.app import WindowApp, make_app

__all__ = ["WindowApp", "make_app"]
