"""Render the comparison report (PDF + HTML) from the result JSONs alone: ``make report``."""
