"""Outgoing notifications to platforms (webhooks)."""
