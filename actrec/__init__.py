"""actrec: temporal data in, trustworthy real-time action recognizers out."""

__version__ = "0.6.0"
