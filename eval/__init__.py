"""One evaluation for every model folder, whatever method produced it (see SCHEMA.md)."""
