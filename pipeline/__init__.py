"""Heartbeat classification pipeline: MIT-BIH beats -> models -> verified bundle."""
