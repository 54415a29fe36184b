# Reports: emotion.pdf, agnews.pdf, metrics.pdf and appendix.pdf (+ HTML) rendered from the result JSONs alone.
REPORT := $(RESULTS)/report

.PHONY: report
report: $(REPORT)/emotion.pdf  ## [publish] render results/report/*.pdf and the README's results tables from the result JSONs (~1 min)
	$(PY) -m report.readme_tables --results $(RESULTS) --readme README.md
$(REPORT)/emotion.pdf: $(wildcard $(RESULTS)/*/*/*.json $(RESULTS)/bench/*.json $(RESULTS)/bench/*.png) $(wildcard report/*.py report/*.yaml report_templates/*) | setup
	$(PY) -m report.render --results $(RESULTS) --out $(REPORT)
