"""Tools for strategy authors: scaffolding, building, trying and validating strategy components."""
