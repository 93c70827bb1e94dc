"""Continuity of service: camera health, image checks, alarms, notifications,
the 24/7 coverage plan and metrics (issue #5)."""
