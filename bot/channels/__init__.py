"""Channels only translate: their updates go in as ``Inbound``, replies go out through a port."""
