"""Settings: one typed, validated, immutable object built once at start-up."""
