"""What the staff's terminal programs (queue-window, queue-admin) share: the app's login and
connection lifecycle (app.py), the login screen, the dialog box and the confirmation, the
connection worker's pump, remembered settings, the refusal translation and the shared words."""
