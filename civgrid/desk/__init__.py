"""Staff web app (工作台): command center, department queue, grid leader view, field app."""
