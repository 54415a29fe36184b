# Reports: emotion.pdf, agnews.pdf, metrics.pdf, appendix.pdf and <dataset>.pdf for any other dataset with
# results (+ HTML), rendered from the result JSONs alone. `make report DATASET=mydata` renders mydata.pdf only.
# STUDENT and ROLL (the author's name and roll number) appear on every hand-in's first page.
REPORT  := $(RESULTS)/report
STUDENT ?=
ROLL    ?=
# The full render's stamp is the appendix, which only it writes: a `DATASET=emotion` render that
# refreshed emotion.pdf must not make the full one look up to date.
REPORT_DOC := $(if $(filter command line,$(origin DATASET)),$(DATASET),appendix)
RENDER  := $(PY) -m report.render --results $(RESULTS) --out $(REPORT) --student "$(STUDENT)" --roll "$(ROLL)"

.PHONY: report
report: $(REPORT)/$(REPORT_DOC).pdf  ## [publish] render the reports and the README's results tables from the result JSONs (~1 min; DATASET=name: that dataset's report only; STUDENT, ROLL)
	$(PY) -m report.readme_tables --results $(RESULTS) --readme README.md
$(REPORT)/$(REPORT_DOC).pdf: $(wildcard $(RESULTS)/*/*/*.json $(RESULTS)/metrics/*.json $(RESULTS)/bench/*.json $(RESULTS)/bench/*.png) $(wildcard report/*.py report/*.yaml report_templates/*) | setup
	$(RENDER) $(if $(filter command line,$(origin DATASET)),--only $(DATASET))
