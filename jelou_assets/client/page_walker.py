"""Walks every page of one window and proves the pages add up before anyone stores them.

Page 1 tells the total; the remaining pages are fetched concurrently. The walk is accepted only when
distinct ids == the reported total, the total never changed between pages, and every page sits at the
offset its number implies. Conversations arriving mid-walk break those rules (every later page shifts),
so the window is walked again, a bounded number of times, and otherwise rejected whole.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from jelou_assets.client.errors import JelouPaginationError


@dataclass(frozen=True)
class Page:
    """One decoded page: each record's `_id` and JSON text as received, and the pagination as reported.

    The records' parsed objects are not kept: a day of 50,000 conversations as Python dicts costs several
    times the memory of their text, and the text is what the warehouse stores. The client hands the texts
    over as an Arrow array, so a day is held once, in the form it is written in.
    """

    number: int
    ids: list[Any] | pa.Array
    payloads: list[str] | pa.Array
    total: int
    total_pages: int
    limit: int
    offset: int | None


class RecordColumns:
    """The records of a window as Python lists, read from its Arrow `id_column` and `payload_column`."""

    id_column: pa.ChunkedArray
    payload_column: pa.ChunkedArray

    @property
    def ids(self) -> list[str]:
        return self.id_column.to_pylist()

    @property
    def payloads(self) -> list[str]:
        return self.payload_column.to_pylist()


@dataclass
class Walk(RecordColumns):
    """A consistent window: ids and payload texts in API order, one per conversation id."""

    id_column: pa.ChunkedArray
    payload_column: pa.ChunkedArray  # the pages' texts, one chunk per page, never copied into one
    api_total: int
    pages: int
    walks: int
    inconsistencies: list[str] = field(default_factory=list)


def payload_column(pages: list[Page]) -> pa.ChunkedArray:
    """The pages' payload texts as one column, in page order."""
    chunks = [page.payloads if isinstance(page.payloads, pa.Array) else pa.array(page.payloads, pa.string())
              for page in pages]
    return pa.chunked_array(chunks, pa.string())


def _inconsistency(pages: list[Page]) -> str | None:
    """Why these pages do not form one consistent snapshot, or None when they do."""
    first = pages[0]
    problem = _page_count_problem(first)
    if problem is not None:
        return problem
    for page in pages:
        if page.total != first.total:
            return f"total changed from {first.total} (page 1) to {page.total} (page {page.number})"
        if page.offset is not None and page.offset != (page.number - 1) * first.limit:
            return f"page {page.number} has offset {page.offset}, expected {(page.number - 1) * first.limit}"
        expected_len = min(first.limit, first.total - (page.number - 1) * first.limit)
        if len(page.ids) != expected_len:
            return f"page {page.number} has {len(page.ids)} records, expected {expected_len}"
    if not all(isinstance(page.ids, pa.Array) for page in pages):  # the client sends Arrow when every id is text
        plain = [i for page in pages for i in page.ids]
        if any(not isinstance(i, str) for i in plain):
            return "a record has no `_id`"
    ids = id_column(pages)
    if ids.null_count or pc.any(pc.equal(pc.utf8_length(ids), 0)).as_py():
        return "a record has no `_id`"
    distinct = pc.count_distinct(ids).as_py()
    if distinct != first.total:
        return f"{distinct} distinct ids for a reported total of {first.total} ({len(ids) - distinct} repeated)"
    return None


def id_column(pages: list[Page]) -> pa.ChunkedArray:
    """The pages' ids as one column of text, in page order."""
    return pa.chunked_array(
        [page.ids if isinstance(page.ids, pa.Array) else pa.array(page.ids, pa.string()) for page in pages], pa.string()
    )


def _page_count_problem(first: Page) -> str | None:
    """Checked on page 1 alone, before the other pages are asked for: a bogus totalPages (say 10**6 for a
    total of 10) would otherwise cost that many requests before the walk could be rejected."""
    expected_pages = math.ceil(first.total / first.limit) if first.limit else 0
    if first.total == 0 and first.total_pages in (0, 1):
        return None  # an empty window: both conventions occur (`Math.ceil(total / limit) || 1` gives 1)
    if first.total_pages != expected_pages:
        return f"totalPages={first.total_pages} but total={first.total} at limit={first.limit} needs {expected_pages}"
    return None


def walk_pages(
    fetch_page: Callable[[int], Page],
    *,
    max_in_flight: int,
    max_rewalks: int,
    log: logging.Logger | None = None,
) -> Walk:
    """Fetch page 1, then pages 2..totalPages with up to `max_in_flight` requests at once."""
    problems: list[str] = []
    with ThreadPoolExecutor(max_workers=max(1, max_in_flight), thread_name_prefix="jelou-page") as pool:
        for walk_number in range(1, max_rewalks + 2):
            first = fetch_page(1)
            problem = _page_count_problem(first)
            pages = [first]
            if problem is None:
                pages += pool.map(fetch_page, range(2, first.total_pages + 1))
                problem = _inconsistency(pages)
            if problem is None:
                return Walk(id_column(pages), payload_column(pages), first.total, len(pages), walk_number, problems)
            problems.append(problem)
            if log is not None:
                log.warning("window walk %d inconsistent (%s); walking it again", walk_number, problem)
    raise JelouPaginationError(
        f"the window's pages never added up after {max_rewalks + 1} walks; last problem: {problems[-1]}. "
        "Conversations may be arriving faster than the window can be read: retry later, or raise "
        f"JELOU_MAX_REWALKS (now {max_rewalks})."
    )
