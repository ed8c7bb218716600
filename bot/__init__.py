"""HeartGuard bot package."""
