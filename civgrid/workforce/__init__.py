"""Workforce: staffing, qualification, patrols, weekly grid meetings, appraisal (SPEC §6)."""
