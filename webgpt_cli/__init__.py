"""The ``webgpt`` command line: thin commands over the library (``webgpt_cli.app`` assembles them)."""
