"""The live demo hall: server, simulated citizens and staff, and the call screen."""
