"""What the staff's terminal programs (queue-window, queue-admin) share: the connection
worker's pump, remembered settings, the refusal translation and the shared words."""
