"""DIP: a knowledge graph of actors and claims from diplomacy and conflict news."""

__version__ = "0.1.0"
