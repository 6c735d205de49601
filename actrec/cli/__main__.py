"""`python -m actrec.cli`: the same command as `actrec`."""

from actrec.cli import app

app()
