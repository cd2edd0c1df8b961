"""The care programme (关爱服务): consent-based enrolment, pair-up help, visits, needs as cases."""
