"""`python -m leadscore.cli ARGS`, the same as the `leadscore` console script."""

from leadscore.cli.app import main

main()
