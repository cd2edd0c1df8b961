"""Automatic grid division (网格自动划分): propose grids, report on them, accept or nudge them."""
