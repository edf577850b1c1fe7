"""The index double: a small PyPI-protocol server over a Warehouse-shaped database.

One double serves the tests, the benchmarks and ``warden demo`` (DESIGN.md, "index
double"): :class:`IndexDoubleStore` holds Warehouse's tables in SQLite and changes
them the way Warehouse does (journals included); :class:`IndexDoubleServer` answers
PyPI's XML-RPC changelog, JSON API, PEP 691 simple API and file downloads over it,
with faults injected on request. ``python -m bot.indexdouble serve`` runs it alone.
"""

from .core import normalize_name
from .faults import FAULT_KINDS, Fault, FaultKind, FaultPlan
from .reads import SIMPLE_API_VERSION, ChangelogEntry
from .server import DEFAULT_PAGE_SIZE, IndexDoubleServer, RecordedRequest
from .store import IndexDoubleStore, classify_file

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "FAULT_KINDS",
    "SIMPLE_API_VERSION",
    "ChangelogEntry",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "IndexDoubleServer",
    "IndexDoubleStore",
    "RecordedRequest",
    "classify_file",
    "normalize_name",
]
