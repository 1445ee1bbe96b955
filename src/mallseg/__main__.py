"""``python -m mallseg`` runs the command line."""

from mallseg.cli.main import run

run()
