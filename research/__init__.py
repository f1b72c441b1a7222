"""Research code the live pipeline does not run: models and evaluations measured offline.

Importable from a checkout, never shipped in the wheel. It may build on ``streams`` (the
models it studies share the live stage's parts); nothing in ``streams`` imports it.
"""
