"""Retention: personal data removed or pseudonymised once its keeping period is over."""
