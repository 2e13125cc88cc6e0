"""`python -m boundbox` is the `boundbox` command."""

from boundbox.cli import main

main()
