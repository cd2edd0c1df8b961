"""Users, roles, tokens and the one scope helper."""
