"""Channels: each one translates a transport (web chat, WeChat, Telegram) for HeartGuard."""
