"""The pure domain: phone numbers, holders, the number lifecycle and the recycling answer.

Nothing in this package does IO or imports a framework; time is always an argument.
"""
