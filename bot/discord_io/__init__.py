"""The Discord edge: discord.py objects are built and handled only in this package and cogs."""
