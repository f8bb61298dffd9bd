"""Pure hall rules: no I/O, plain functions over plain data (SPEC §3, §4)."""
