"""HeartGuard lexicons package."""
