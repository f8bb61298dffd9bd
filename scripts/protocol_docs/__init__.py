"""Regenerate docs/protocol.md: capture real frames from a real server, render the template.

From the repository root, with the project installed in the venv (`pip install -e .`):

    .venv/bin/python -m scripts.protocol_docs            # writes docs/protocol.md (~1 min)
    .venv/bin/python -m scripts.protocol_docs --help     # --out, --captures, --render-only

`protocol.tmpl.md` is the source of docs/protocol.md: edit the prose there, never in
docs/protocol.md. The command runs the three capture scripts, each in a process of its own,
each starting a real Yichuang server (port 0, a scratch SQLite file, the demo hall, a
settable clock) and recording every frame sent and received into a JSON file:

- `scenario.py`: the doc's hall day, Wednesday 2026-11-25 (most examples);
- `edges.py`: frames before hello, limits, close codes, login throttling;
- `checks.py`: miscellaneous refusals and claims of the docs.

`render.py` then replaces each `<<expr>>` line of the template with an example built from
those frames (`fmt.py` trims and lays them out); `lib.py` holds what the captures share.
Appointment codes, ticket secrets, tokens and sub-second timings are random, so they change
on every run; everything else comes out the same.

To add an example, add the step to a capture (with a request id of its own) and a
`<<rep("that-id")>>` line (or `req`, `ev`, ...: see render.py) to the template.
"""
