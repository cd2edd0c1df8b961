"""Command figures (指标): indicators, rollups, dashboard, wall screen and reports.

The stable interface other domains may use:

- ``civgrid.figures.indicators.INDICATORS``: code → ``Indicator`` (zh/en names, numerator and
  denominator parts, good direction, source);
- ``civgrid.figures.periods.Period.parse("2026-Q4" | "2026-11" | "2026-W48" | "2026-11-30" |
  "2026" | "2026-11-01..2026-11-30")``;
- ``civgrid.figures.service.compute(db, *, unit_kind, unit_code, period, codes=None)`` →
  ``dict[str, IndicatorValue]`` (``numerator``, ``denominator``, ``value``; value None: no data),
  ``unit_kind`` one of worker (code: username), department, grid, village, township, county,
  city, province.

Figures read cases and their events; nothing outside this package imports it, except the
workforce appraisal.
"""
