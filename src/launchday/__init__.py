"""launchday: takes a blockbuster product launch's orders without losing or overselling one."""

__version__ = "0.1.0"
