"""The day step as one compiled loop over worlds and SKUs (numba), and the ledger it writes.

A day of the world is a few dozen arithmetic operations per SKU. Written as numpy calls, every
operation pays about a microsecond of call overhead whatever the array size, which made one
single-SKU step cost ~60 calls (~200 us) and bounded small and batched worlds far below the speed
of Gymnasium's classic-control envs. Compiled with numba, the same arithmetic runs in one call.

``World(engine="numpy")`` keeps the vectorised numpy implementation (``shopgym.world.numpy_engine``) as
the reference; a property test checks that both engines produce identical days.

The kernel writes each day's flows into two ledgers, one row per field:
``q`` (``(n_worlds, len(Q_FIELDS), n_skus)``, int64 units) and ``m`` (``(n_worlds, len(M_FIELDS),
n_skus)``, float64 currency), and each world's day sums into ``totals`` (``KPI_COLUMNS``, defined with
the KPIs built from them in ``shopgym.world.kpis``). Rows are read by name: ``q[w, SOLD, i]``.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np

from shopgym.world.kpis import TOTAL_FIELDS

#: Integer flows of a day, units per world and SKU (see ``DayOutcome`` for their meaning).
Q_FIELDS = ("ordered", "order_cut", "received", "start_stock", "demand", "substitute_out", "substitute_in",
            "sold", "filled", "lost", "backlog_before", "backlog", "expired", "end_stock")
#: Real-valued fields of a day: expected demand (units) and money (currency) per world and SKU. ``ad_cost`` (ad
#: spend, charged on the SKU each won impression showed) is written by the world after the kernel (0 without ads).
M_FIELDS = ("expected_demand", "price", "revenue", "purchase_cost", "order_cost", "holding_cost", "lost_sale_cost",
            "backorder_cost", "disposal_cost", "profit", "ad_cost")
#: Per-world sums over SKUs of one day (defined in ``shopgym.world.kpis``).
KPI_COLUMNS = TOTAL_FIELDS
#: Scenario constants handed to the kernel, in this order.
PARAMS = ("capacity", "backorders", "substitution", "lost_sale_penalty", "backorder_penalty", "disposal_cost")

# Named rows of the ledgers (compile-time constants for numba): q[w, SOLD, i] is SKU i's units sold in world w.
ORDERED, ORDER_CUT, RECEIVED, START_STOCK, DEMAND, SUBSTITUTE_OUT, SUBSTITUTE_IN, SOLD, FILLED, LOST, \
    BACKLOG_BEFORE, BACKLOG, EXPIRED, END_STOCK = range(len(Q_FIELDS))
EXPECTED_DEMAND, PRICE, REVENUE, PURCHASE_COST, ORDER_COST, HOLDING_COST, LOST_SALE_COST, BACKORDER_COST, \
    DISPOSAL_COST, PROFIT, AD_COST = range(len(M_FIELDS))
T_PROFIT, T_REVENUE, T_COGS, T_DEMAND, T_FILLED, T_SOLD, T_LOST, T_EXPIRED, T_BACKORDERED, T_BACKLOG, \
    T_STOCKOUT_SKUS, T_INVENTORY, T_INVENTORY_VALUE, T_DEMAND_COST = range(len(TOTAL_FIELDS))
# The names above must follow the field tuples' order; a reordered tuple fails here, at import.
_NAMED = {"q": (Q_FIELDS, ("ORDERED", "ORDER_CUT", "RECEIVED", "START_STOCK", "DEMAND", "SUBSTITUTE_OUT",
                           "SUBSTITUTE_IN", "SOLD", "FILLED", "LOST", "BACKLOG_BEFORE", "BACKLOG", "EXPIRED",
                           "END_STOCK")),
          "m": (M_FIELDS, ("EXPECTED_DEMAND", "PRICE", "REVENUE", "PURCHASE_COST", "ORDER_COST", "HOLDING_COST",
                           "LOST_SALE_COST", "BACKORDER_COST", "DISPOSAL_COST", "PROFIT", "AD_COST")),
          "totals": (TOTAL_FIELDS, tuple(f"T_{f.upper()}" for f in TOTAL_FIELDS))}
for _fields, _names in _NAMED.values():
    if tuple(f.upper() for f in _fields) != tuple(n.removeprefix("T_") for n in _names) or any(
            globals()[n] != i for i, n in enumerate(_names)):
        raise ImportError(f"kernel ledger row names {_names} do not match the fields {_fields}")


def _step_worlds(stock, pipeline, backlog, orders, lead, demand, expected, price, catf, cati, params,
                 q, m, totals, acc, demand_buf, sales_buf, col):
    """Simulate one day of every world in place (see ``World.step`` for the order of events).

    Returns ``False``, changing nothing, when an order is negative; else ``True``.

    Args (all arrays C-contiguous):
        stock: ``(b, n, K)`` int64 units per age bucket (updated).
        pipeline: ``(b, n, L + 1)`` int64 units arriving in 0..L days (updated).
        backlog: ``(b, n)`` int64 backorders (updated).
        orders: ``(b, n)`` int64 units requested today.
        lead: ``(n,)`` int64 lead time of today's orders, days.
        demand, expected: ``(b, n)`` today's demand (int64 units) and its mean (float64 units).
        price: ``(b, n)`` float64 selling price today.
        catf: ``(3, n)`` float64 unit cost, fixed order cost, holding cost per unit-day.
        cati: ``(3, n)`` int64 arrival bucket, perishable (0/1), substitute SKU.
        params: ``PARAMS`` as float64.
        q, m, totals: the ledgers written (see the module docstring).
        acc: ``(b, len(KPI_COLUMNS))`` episode totals; today's totals are added.
        demand_buf, sales_buf: ``(b, n, T)`` float64 history buffers; column ``col`` is written.
    """
    n_worlds, n_skus, n_buckets = stock.shape
    for w in range(n_worlds):  # refuse negative orders before anything changes
        for i in range(n_skus):
            if orders[w, i] < 0:
                return False
    n_slots = pipeline.shape[2]
    capacity = int(params[0])
    backorders = params[1] > 0
    share = params[2]
    lost_pen, back_pen, disp_cost = params[3], params[4], params[5]
    for w in range(n_worlds):
        # start of day, capacity cut (every SKU in proportion, integer arithmetic)
        total_start = 0
        total_pipe = 0
        total_order = 0
        for i in range(n_skus):
            s = 0
            for k in range(n_buckets):
                s += stock[w, i, k]
            q[w, START_STOCK, i] = s
            total_start += s
            for k in range(n_slots):
                total_pipe += pipeline[w, i, k]
            total_order += orders[w, i]
        cut = False
        room = 0
        if capacity > 0:
            room = max(capacity - total_start - total_pipe, 0)
            cut = total_order > room
        for i in range(n_skus):
            o = orders[w, i]
            if cut:
                o = o * room // max(total_order, 1)
            q[w, ORDERED, i] = o
            q[w, ORDER_CUT, i] = orders[w, i] - o
            # place the order, receive what is due today, move the pipeline one day on
            pipeline[w, i, lead[i]] += o
            r = pipeline[w, i, 0]
            for k in range(n_slots - 1):
                pipeline[w, i, k] = pipeline[w, i, k + 1]
            pipeline[w, i, n_slots - 1] = 0
            q[w, RECEIVED, i] = r
            stock[w, i, cati[0, i]] += r
            # customers: backlog first (with backorders), then today's demand; lowest buckets first
            d = demand[w, i]
            q[w, DEMAND, i] = d
            b0 = backlog[w, i]
            q[w, BACKLOG_BEFORE, i] = b0
            want = d + b0 if backorders else d
            left = 0
            for k in range(n_buckets):
                left += stock[w, i, k]
            sold = min(want, left)
            take = sold
            for k in range(n_buckets):
                t = min(take, stock[w, i, k])
                stock[w, i, k] -= t
                take -= t
            q[w, SOLD, i] = sold
            # today's demand is served after the backlog: what the backlog did not take
            q[w, FILLED, i] = sold - min(b0, sold) if backorders else sold
            unmet = want - sold
            q[w, SUBSTITUTE_OUT, i] = 0
            q[w, SUBSTITUTE_IN, i] = 0
            if backorders:
                backlog[w, i] = unmet
                q[w, LOST, i] = 0
            else:
                q[w, LOST, i] = unmet
        # lost sales: a share of the unmet demand tries the same-category substitute
        if not backorders and share > 0 and n_skus > 1:
            for i in range(n_skus):
                out = np.int64(np.floor(q[w, LOST, i] * share))
                q[w, SUBSTITUTE_OUT, i] = out
                q[w, SUBSTITUTE_IN, cati[2, i]] += out
            for i in range(n_skus):
                left = 0
                for k in range(n_buckets):
                    left += stock[w, i, k]
                extra = min(q[w, SUBSTITUTE_IN, i], left)
                take = extra
                for k in range(n_buckets):
                    t = min(take, stock[w, i, k])
                    stock[w, i, k] -= t
                    take -= t
                q[w, SOLD, i] += extra
                q[w, LOST, i] = q[w, LOST, i] - q[w, SUBSTITUTE_OUT, i] + (q[w, SUBSTITUTE_IN, i] - extra)
        # end of day: holding cost on what is left, expiry and ageing, money, totals
        for k in range(totals.shape[1]):
            totals[w, k] = 0.0
        for i in range(n_skus):
            held = 0
            for k in range(n_buckets):
                held += stock[w, i, k]
            expired = 0
            if n_buckets > 1:
                if cati[1, i] != 0:
                    expired = stock[w, i, 0]
                for k in range(n_buckets - 2):
                    stock[w, i, k] = stock[w, i, k + 1]
                stock[w, i, n_buckets - 2] = 0
            b1 = backlog[w, i]
            q[w, BACKLOG, i] = b1
            q[w, EXPIRED, i] = expired
            q[w, END_STOCK, i] = held - expired
            o, sold, lost = q[w, ORDERED, i], q[w, SOLD, i], q[w, LOST, i]
            p = price[w, i]
            unit_cost = catf[0, i]
            revenue = p * sold
            purchase = unit_cost * o
            order_cost = catf[1, i] if o > 0 else 0.0
            holding = catf[2, i] * held
            lost_cost = lost_pen * lost
            back_cost = back_pen * b1
            disposal = disp_cost * expired
            profit = revenue - purchase - order_cost - holding - lost_cost - back_cost - disposal
            m[w, EXPECTED_DEMAND, i] = expected[w, i]
            m[w, PRICE, i] = p
            m[w, REVENUE, i] = revenue
            m[w, PURCHASE_COST, i] = purchase
            m[w, ORDER_COST, i] = order_cost
            m[w, HOLDING_COST, i] = holding
            m[w, LOST_SALE_COST, i] = lost_cost
            m[w, BACKORDER_COST, i] = back_cost
            m[w, DISPOSAL_COST, i] = disposal
            m[w, PROFIT, i] = profit
            d = q[w, DEMAND, i]
            b0 = q[w, BACKLOG_BEFORE, i]
            wanted = d + q[w, SUBSTITUTE_IN, i] + b0
            totals[w, T_PROFIT] += profit
            totals[w, T_REVENUE] += revenue
            totals[w, T_COGS] += sold * unit_cost
            totals[w, T_DEMAND] += d
            totals[w, T_FILLED] += q[w, FILLED, i]
            totals[w, T_SOLD] += sold
            totals[w, T_LOST] += lost
            totals[w, T_EXPIRED] += expired
            totals[w, T_BACKORDERED] += b1 - b0 + min(b0, sold)
            totals[w, T_BACKLOG] += b1
            totals[w, T_STOCKOUT_SKUS] += 1.0 if wanted > sold else 0.0
            totals[w, T_INVENTORY] += held - expired
            totals[w, T_INVENTORY_VALUE] += (held - expired) * unit_cost
            totals[w, T_DEMAND_COST] += d * unit_cost
            demand_buf[w, i, col] = d
            sales_buf[w, i, col] = sold
        for k in range(totals.shape[1]):
            acc[w, k] += totals[w, k]
    return True


#: The package whose compiled kernels are cached on disk (``compile_kernel``).
PACKAGE = Path(__file__).resolve().parents[1]
#: Folders whose modules kernels are defined in, call into, or read constants from.
KERNEL_SOURCES = ("world", "envs")
#: Length of the sources digest put into every kernel's cache key (hex digits).
DIGEST_CHARS = 12
_DIGEST_TAG = re.compile(rf"_k([0-9a-f]{{{DIGEST_CHARS}}})-")
_digest: str | None = None


def sources_digest() -> str:
    """SHA-256 of every module in ``KERNEL_SOURCES`` (hex; computed once per process)."""
    global _digest
    if _digest is None:
        h = hashlib.sha256()
        for folder in KERNEL_SOURCES:
            for path in sorted((PACKAGE / folder).glob("*.py")):
                h.update(path.name.encode() + b"\0" + path.read_bytes())
        _digest = h.hexdigest()
    return _digest


def prune_stale_kernels(digest: str) -> int:
    """Delete the package's cached kernels keyed by another sources digest, or by none (orphans of earlier code,
    never loaded again); returns how many files went. Only numba's files in the package's own ``__pycache__``
    folders are touched; a read-only install or a file another process removed first is skipped."""
    gone = 0
    for pattern in ("*.nbi", "*.nbc"):
        for path in PACKAGE.rglob(f"__pycache__/{pattern}"):
            m = _DIGEST_TAG.search(path.name)  # untagged: from before kernels were keyed by the digest
            if m is None or m.group(1) != digest[:DIGEST_CHARS]:
                try:
                    path.unlink()
                    gone += 1
                except OSError:
                    pass
    return gone


def compile_kernel(fn):
    """``fn`` compiled by numba and cached on disk, or ``None`` when numba is missing or disabled.

    numba's cache (``cache=True``) checks only the file that defines a function, not the modules it calls or reads
    constants from: after an edit (or a ``git pull`` on an editable install) to a callee, a stale caller would keep
    running the old code. So the digest of every kernel source (``sources_digest``) is part of each kernel's name,
    which keys its cache entry wherever numba keeps it (the package's ``__pycache__``, ``NUMBA_CACHE_DIR`` or the
    user-wide cache of a read-only install): any change to those sources means new entries, never a stale one."""
    if os.environ.get("SHOPGYM_ENGINE", "") == "numpy":
        return None
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a dependency; this keeps odd platforms working
        return None
    fn.__qualname__ = f"{fn.__qualname__}_k{sources_digest()[:DIGEST_CHARS]}"
    return numba.njit(cache=True, nogil=True)(fn)


step_worlds = compile_kernel(_step_worlds)
#: Whether the compiled engine is available (numba installed and ``SHOPGYM_ENGINE`` is not ``numpy``).
COMPILED = step_worlds is not None

if COMPILED:
    prune_stale_kernels(sources_digest())  # the orphans of earlier code (disk only; they are never loaded)
