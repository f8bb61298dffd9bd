"""The rating pad (评价器) facing the citizen at one service window: `queue-rate`."""
