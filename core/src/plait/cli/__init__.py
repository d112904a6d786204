"""The ``plait`` command."""
