"""Working calendar: holidays, make-up working days (调休), working hours, deadlines and lights."""
