"""HeartGuard's bottom layer: the vocabulary, the clock and the base error every package shares.

Nothing here imports another HeartGuard package, so ``lexicons``, ``flows``, ``escalation``,
``storage`` and ``bot`` can all depend on it without a cycle.
"""
