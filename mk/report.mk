# Reports: emotion.pdf, agnews.pdf, metrics.pdf, appendix.pdf and <dataset>.pdf for any other dataset with
# results (+ HTML), rendered from the result JSONs alone. `make report DATASET=mydata` renders mydata.pdf only.
# STUDENT and ROLL (the author's name and roll number) appear on every hand-in's first page.
REPORT  := $(RESULTS)/report
STUDENT ?=
ROLL    ?=
REPORT_DOC := $(if $(filter command line,$(origin DATASET)),$(DATASET),emotion)
RENDER  := $(PY) -m report.render --results $(RESULTS) --out $(REPORT) --student "$(STUDENT)" --roll "$(ROLL)"

.PHONY: report
report: $(REPORT)/$(REPORT_DOC).pdf  ## render the reports (DATASET=name: that dataset's hand-in only; STUDENT, ROLL)
$(REPORT)/$(REPORT_DOC).pdf: $(wildcard $(RESULTS)/*/*/*.json $(RESULTS)/bench/*.json $(RESULTS)/bench/*.png) $(wildcard report/*.py report/*.yaml report_templates/*) | setup
	$(RENDER) $(if $(filter command line,$(origin DATASET)),--only $(DATASET))
