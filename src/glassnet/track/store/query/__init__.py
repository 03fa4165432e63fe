"""Searching the run store: a small filter language, translated to parameterised SQL.

grammar.py parses a filter (``config.lr < 0.01 and tags contains 'baseline'``) to an
AST without eval; translate.py turns the AST into a WHERE clause whose every value and
JSON key is a bound parameter; dialects.py holds what SQLite and PostgreSQL spell
differently; search.py runs the query for ``Store.search_runs``; frames.py shapes runs,
metrics and weight statistics as DataFrames (or records without pandas).
"""

from glassnet.track.store.query.frames import metrics_frame, param_stats_frame
from glassnet.track.store.query.grammar import parse_filter, parse_order_by
from glassnet.track.store.query.search import build_query, search_runs

__all__ = ["build_query", "metrics_frame", "param_stats_frame", "parse_filter",
           "parse_order_by", "search_runs"]
