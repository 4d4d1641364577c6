"""Erasure of one data subject and the proof that nothing is left (``docs/erasure.md``).

Plain functions, no Dash: the request page, ``flask --app app erase`` and the retention sweep
all call the same code, so they erase the same columns in the same way.

* :mod:`data.erasure.plan`: what happens to each table, derived from ``data.subjects``;
* :mod:`data.erasure.scan`: the residue scan of every text column of every table;
* :mod:`data.erasure.execute`: preview, blockers, the one-transaction erasure and its receipt.
"""
