"""Publishing the weights: pack model folders as release assets (pack), describe them in one
manifest (manifest), download and verify them (fetch), run the notebook on them (run_notebook).
Its own package because it serves both sides: the maintainer who packs and the reader who fetches."""
