"""``python -m glassnet.cli``: the same as the ``glassnet`` command."""

from glassnet.cli import main

main()
