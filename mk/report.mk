# Report: PDF + HTML rendered from the result JSONs alone (report/, report_templates/).
REPORT := $(RESULTS)/report

.PHONY: report
report: $(REPORT)/report.pdf  ## render results/report/report.{pdf,html} + figures from the result JSONs
$(REPORT)/report.pdf: $(wildcard $(RESULTS)/*/*/*.json) $(wildcard report/*.py report/*.yaml report_templates/*) | setup
	$(PY) -m report.render --results $(RESULTS) --out $(REPORT)
