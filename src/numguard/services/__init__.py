"""Use cases: the registry, checks, imports and the demo world; each owns its transaction."""
