"""Telegram: the operator's bot (python-telegram-bot 22) and the Notifier that sends through it."""
