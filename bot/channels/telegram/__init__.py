"""The Telegram channel: students in private chats, counselors' alerts and case actions."""

# The channel name chat identities and counselor contacts are stored under.
CHANNEL = "telegram"
