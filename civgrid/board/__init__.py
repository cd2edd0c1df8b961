"""The public board (办理公示): registered cases, their status and public outcome, without login."""
