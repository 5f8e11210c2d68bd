"""discord-supervisor: one daemon hosting many discord.py bots, one Postgres schema each."""

__version__ = "0.1.0"
