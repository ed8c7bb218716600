"""HeartGuard storage package."""
