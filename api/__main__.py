"""`python -m api` is the `strikeflow` command (useful where the console script is not on PATH)."""

from api.cli import app

app(prog_name="strikeflow")
