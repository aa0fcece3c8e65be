"""Reporting: the HTML target-progress report, each date's validation page, the run
summary and the generated data dictionary, all read from the published snapshot."""
