"""The grid directory (网格公示): each grid's area, leader and staff work contacts, published."""
