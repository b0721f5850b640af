"""One module per command: the logic behind a CLI command, called by cli.py."""
