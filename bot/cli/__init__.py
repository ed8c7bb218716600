"""The ``heartguard`` command line."""
