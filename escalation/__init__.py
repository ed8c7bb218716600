"""HeartGuard escalation package."""
