"""Territory: grids, their codes and versions, overlays, checks and the point locator."""
