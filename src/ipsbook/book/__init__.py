"""The book wing: the machinery that turns the chapter notebooks into a book.

Nothing here is positioning science; the science wing (:mod:`ipsbook.data`, ``radio``,
``models``, ``methods``, ``metrics``, ``plotting``, ``stats``, ``training``) never imports from
this package (``tests/test_layout.py`` pins that). What lives here, by concern:

- running a chapter: :mod:`.runner` (plan, cache key, local execution with an atomic swap of
  the output folder, Dask), :mod:`.inputs` (what a run actually read), :mod:`.outputs` (where a
  notebook puts its tables, figures and claims), :mod:`.cli` (``ipsbook run|build|freeze|status``);
- judging: :mod:`.claims` (a paper's claim beside ours, with the rule that decides it) and
  :mod:`.scorecard` (every chapter's claims on one page);
- freezing: :mod:`.freeze` (``results/<profile>/<name>/`` bundles and their manifest check);
- building: :mod:`.build`, :mod:`.provenance` (the box on every chapter page), :mod:`.performance`
  (run times and benchmarks), :mod:`.bibtex` and :mod:`.markdown` (citations and tables on pages),
  :mod:`.bookcheck` (what readers of the built HTML see), :mod:`.benchio` (the benchmarks' records).
"""
