"""Running one instance as a discord.py bot: its context, its Bot, its features."""
