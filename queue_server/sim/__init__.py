"""Discrete-event simulation of a hall day driving the real scheduling policy (SPEC §8)."""
