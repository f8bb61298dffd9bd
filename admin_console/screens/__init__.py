"""The console's screens: login, the live hall, and the dialogs of its acts."""
