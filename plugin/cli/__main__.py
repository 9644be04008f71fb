"""`python -m plugin.cli`: the same as the `mentorship` console script."""

from plugin.cli import main

main()
