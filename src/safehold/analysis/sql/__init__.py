"""SQL analysis: PostgreSQL through libpg_query, other dialects through sqlglot, one catalog.

`analyzer.SqlAnalyzer` is the entry point; `catalog/data/sql.yaml` says what each statement
class costs; `predicates` decides whether a WHERE restricts anything.
"""
