"""The HTTP face: CAMARA Number Recycling, the native API, OAuth2 and operations endpoints."""
