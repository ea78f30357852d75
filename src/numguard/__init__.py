"""numguard: keeps recycled phone numbers from leaking people's accounts."""

__version__ = "0.1.0"
