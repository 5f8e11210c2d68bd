"""Feature packages: each one a discord.py Cog plus its own queries. Features never import each other."""
