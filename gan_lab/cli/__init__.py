"""Command-line entry points: thin, config in, library call out. Nothing imports them."""
