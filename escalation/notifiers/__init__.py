"""Notifiers: one small interface, one module per channel, and a recording fake for tests."""
