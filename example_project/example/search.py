"""Catalogue browsing for the example shop on haystack's database-only "simple" engine.

Oscar's catalogue and category pages are haystack searches without a text query, narrowed by
field filters (``is_public``, ``structure__in``, ``category__in``). The simple engine turns those
filters into search words ("true standalone parent 3 4") and so finds no product: the shop's
"all products" and category pages — where the demo mails' buttons lead — would be empty. This
engine searches the words the customer typed (or everything) and applies Oscar's filters to the
products found. A real shop uses Solr or Elasticsearch instead.
"""

from __future__ import annotations

from typing import Any

from haystack.backends import SearchNode
from haystack.backends.simple_backend import SimpleEngine, SimpleSearchBackend, SimpleSearchQuery


def _leaves(node: SearchNode):
    for child in node.children:
        if isinstance(child, SearchNode):
            yield from _leaves(child)
        else:
            yield child


def _matches(obj: Any, filters: list[tuple[str, Any]]) -> bool:
    """Whether a product passes Oscar's field filters (the ones its catalogue pages use)."""
    for key, value in filters:
        field, _, lookup = key.partition("__")
        if field == "category":
            wanted = {int(v) for v in (value if lookup == "in" else [value])}
            if not wanted & set(obj.categories.values_list("pk", flat=True)):
                return False
        elif field == "is_public":
            if obj.is_public != (str(value).lower() == "true"):
                return False
        elif field == "structure":
            if obj.structure not in (value if lookup == "in" else [value]):
                return False
    return True


class CatalogueSearchQuery(SimpleSearchQuery):
    def _split(self):
        words, filters = [], []
        for key, value in _leaves(self.query_filter):
            if key.partition("__")[0] == "content":
                words.append(str(value.prepare(self) if hasattr(value, "prepare") else value))
            else:
                filters.append((key, value))
        return words, filters

    def build_query(self) -> str:
        words, _filters = self._split()
        return " ".join(w for w in words if w) or "*"

    def build_params(self, spelling_query=None, **kwargs):
        params = super().build_params(spelling_query, **kwargs)
        params["field_filters"] = self._split()[1]
        return params


class CatalogueSearchBackend(SimpleSearchBackend):
    def search(self, query_string, field_filters=None, **kwargs):
        found = super().search(query_string, **kwargs)
        if not field_filters:
            return found
        results = [r for r in found["results"] if _matches(r.object, field_filters)]
        return {"results": results, "hits": len(results)}


class CatalogueSearchEngine(SimpleEngine):
    backend = CatalogueSearchBackend
    query = CatalogueSearchQuery
