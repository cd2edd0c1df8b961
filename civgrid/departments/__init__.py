"""Departments that handle cases (sanitation, roads, market supervision …)."""
