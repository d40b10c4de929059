"""``python -m server`` is the ``filmnight`` command."""

from server.cli import main

main()
