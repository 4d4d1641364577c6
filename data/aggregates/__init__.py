"""De-identified aggregates for marketing (docs/aggregates.md, docs/domain.md §5.10).

Counts and shares over fixed categories, never rows about people:

* :mod:`~data.aggregates.dimensions`: the fixed hierarchies and the measures;
* :mod:`~data.aggregates.query`: the one SQL query (every cell and margin) and who is counted;
* :mod:`~data.aggregates.suppression`: the k rule and complementary suppression (pure);
* :mod:`~data.aggregates.table`: the released table and its disclosure report;
* :mod:`~data.aggregates.ledger`: the export ledger and the differencing refusal;
* :mod:`~data.aggregates.models`: the ledger table (migrations 0010, 0019);
* :mod:`~data.aggregates.private`: the differentially private counts (OpenDP) and the budget;
* :mod:`~data.aggregates.exporting`: CSV and Excel files through ``data.export``;
* :mod:`~data.aggregates.cli`: ``flask --app app export-aggregates``.

No Dash imports.
"""
