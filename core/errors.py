"""The base of every error this project raises for its users. Each one names the file, the key and
the fix, so a command prints it as one line; a loader or a job that meets one passes its words on
instead of guessing at a cause."""
from __future__ import annotations


class ProjectError(ValueError):
    """An error worded for the user: what is wrong, where, and what to do."""
