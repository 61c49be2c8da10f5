"""The command-line interface: a thin layer over `tournament.services`."""
