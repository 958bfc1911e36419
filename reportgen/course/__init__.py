"""Course mode: many handouts from one config.

A matrix of variants or a handout per student (``plan``), exercises with answer keys and
a leak check (``exercises``), the batch runner on local processes or a Dask cluster
(``batch``), and marking of returned PDFs (``grading``).
"""
