"""The command line: ``numguard`` (Typer), an operator's face on the same services as the API."""
