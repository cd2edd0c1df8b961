"""Inspections: checklist templates, plans and records; a failed item opens a case."""
