"""The Telegram channel: students in private chats, counselors' alerts and case actions."""
