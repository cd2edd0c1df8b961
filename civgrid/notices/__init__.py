"""Notices (通知公告) to grids, villages or neighbourhood units, with staff read receipts."""
