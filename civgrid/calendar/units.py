"""Time-limit units and deadline lights."""

from __future__ import annotations

from civgrid.choices import LabelledEnum


class TimeUnit(LabelledEnum):
    """The four units of a time limit used in Chinese city-management standards."""

    EMERGENCY_HOURS = ("emergency_hours", "紧急工作时", "Emergency hours (continuous)")
    WORK_HOURS = ("work_hours", "工作时", "Working hours")
    WORK_DAYS = ("work_days", "工作日", "Working days")
    NATURAL_DAYS = ("natural_days", "自然日", "Natural days")


class Light(LabelledEnum):
    """Deadline light: green below 80 % of the limit used, yellow 80–100 %, red beyond."""

    GREEN = ("green", "绿灯", "Green", "green")
    YELLOW = ("yellow", "黄灯", "Yellow", "yellow")
    RED = ("red", "红灯", "Red", "red")
