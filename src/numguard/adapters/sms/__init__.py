"""SMS gateways for lookup codes: console (default), a file sink, and an HTTP provider."""
