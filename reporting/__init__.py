"""Reporting: the HTML target-progress report, each date's validation page, the run summary
and the generated data dictionary, read from the published snapshot (the validation page
from the run's expectation results).

charts.py draws the SVG charts; queries/ holds every query on the snapshot, run by sql.py;
templates/ holds the pages, their sections and the one stylesheet, rendered by render.py;
html.py shapes what the report shows and report.py writes a run's outputs.
"""
