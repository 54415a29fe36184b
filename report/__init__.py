"""Render the reports (emotion, agnews, metrics essay, appendix; PDF + HTML) from the result JSONs alone: ``make report``."""
