"""The landing contract and the rules every room shares.

What counties deliver (``landing``), every reason a file or row is not simply applied
(``reasons``), resident-ID rules (``idcard``), the reference data with its provenance
(``reference``), what publishing drops or coarsens and how persons are keyed
(``publication``, ``pseudonym``). This package imports nothing from the project: every
other room may depend on it.
"""
