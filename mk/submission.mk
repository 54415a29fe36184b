# What each course hands in (publish/submission.py), with STUDENT and ROLL (mk/report.mk) on every first page:
# the AG News zip (report_1.pdf, report_2.pdf, src/, README.md) and the emotion folder (the notebook named
# <roll>_<name>_Advance_nlpassignment2.ipynb, the report, the release assets of `make publish` if built).
SUBMISSION ?= $(OUT)/submission

.PHONY: submission
submission: setup  ## [publish] STUDENT="Name" ROLL=123: render the reports with them and assemble both courses' hand-ins
	$(RENDER)
	$(PY) -m publish.submission --reports $(REPORT) --release $(PUBLISH_OUT) --release-url $(RELEASE_URL) \
		--student "$(STUDENT)" --roll "$(ROLL)" --out $(SUBMISSION)
