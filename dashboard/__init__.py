"""Serving side: the Dash dashboard that reads the committed model bundle and never trains."""
