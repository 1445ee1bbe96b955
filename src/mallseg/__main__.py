"""``python -m mallseg`` runs the command line."""

from mallseg.cli.main import app

app(prog_name="mallseg")
