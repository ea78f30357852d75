"""Adapters: storage, web, CLI. They depend on services and the domain, never the reverse."""
