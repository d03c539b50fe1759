"""``ResponseTable``: a learned response model's probabilities tabulated over every (shopper, item), per context.

A learned world (``response_model = "learned:PATH"``) asks its model once per session. One call of a fitted
``ConversionModel`` costs milliseconds whatever its size (a frame of features, the encoder, a torch forward),
so a Recommend episode of ~60,000 sessions would take minutes. But a model's answer depends on an impression
only through the shopper, the item and a few context columns (``weekday``, ``position``, ``seen``,
``discount``, ``in_stock``; never ``day`` itself, which the encoder ignores), so for the common context (an
item shown unseen and without a discount) the answers for every (shopper, item) can be computed once, in one
batched call, and looked up afterwards. ``LearnedConversion.tabulate()`` switches this on.

Every row in the tabulated context is answered from its table (built on first need, the least recently used
dropped beyond ``max_rows``; a rebuilt table holds the same values), every other row by the model directly,
so the answers never depend on what was asked before: same seed, same trajectory. The tables hold whatever
``predict`` answers, so a recalibrated model (``ConversionModel.calibrate``) is tabulated calibrated. Each table
records the ``key()`` it was built under (``LearnedConversion``: the model's calibration); when the key changes (the
same in-memory model calibrated again, or its calibration dropped by ``fit``) every table is dropped and rebuilt on
need, so a table never answers for a calibration other than the model's current one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np

from shopgym.world.protocols import ImpressionBatch

#: Rows (shopper x item per context) kept at most by default: 8M rows are 192 MB of float64 probabilities.
MAX_ROWS = 8_000_000


class ResponseTable:
    """Look up ``predict``'s ``(n, 3)`` funnel probabilities per (shopper, item) for unseen, undiscounted rows.

    Args:
        predict: the model's ``probabilities(batch) -> (n, 3)``; must be deterministic.
        n_shoppers: shoppers in the population (table rows).
        n_items: SKUs in the catalog (table columns).
        start_weekday: day of week of day 0 (0 = Monday), to give each table a day with its weekday.
        max_rows: table rows (shopper x item x context) kept at most; must hold at least one context.
        key: ``key() -> hashable``: the state ``predict``'s answers depend on besides the batch (default: none);
            asked once per ``probabilities`` call, and the tables are dropped whenever it differs from the one they
            were built under.
    """

    def __init__(self, predict: Callable[[ImpressionBatch], np.ndarray], n_shoppers: int, n_items: int,
                 start_weekday: int = 0, max_rows: int = MAX_ROWS, key: Callable[[], Hashable] | None = None):
        if n_shoppers * n_items > max_rows:
            raise ValueError(f"one context needs {n_shoppers * n_items:,} rows (shoppers x items), more than "
                             f"max_rows = {max_rows:,}; raise max_rows or leave the model untabulated.")
        self.predict, self.n_shoppers, self.n_items = predict, int(n_shoppers), int(n_items)
        self.start_weekday, self.max_rows = int(start_weekday), int(max_rows)
        self._tables: OrderedDict[int, np.ndarray] = OrderedDict()
        self.key = key if key is not None else (lambda: None)
        self._key = self.key()  #: the key the tables in ``_tables`` were built under
        self.built = 0  #: tables built so far (a rebuilt one counts again)

    def _table(self, code: int) -> np.ndarray:
        """The ``(n_shoppers, n_items, 3)`` table of context ``code`` (``weekday + 7 (in_stock + 2 position)``)."""
        table = self._tables.get(code)
        if table is not None:
            self._tables.move_to_end(code)
            return table
        weekday, rest = code % 7, code // 7
        in_stock, position = rest % 2, rest // 2
        n = self.n_shoppers * self.n_items
        every = np.arange(n)
        batch = ImpressionBatch(shopper=every // self.n_items, item=every % self.n_items,
                                position=np.full(n, position, dtype=np.int64), seen=np.zeros(n, dtype=np.int64),
                                discount=np.zeros(n), in_stock=np.full(n, bool(in_stock)),
                                day=np.full(n, (weekday - self.start_weekday) % 7, dtype=np.int64))
        table = np.asarray(self.predict(batch), dtype=np.float64).reshape(self.n_shoppers, self.n_items, 3)
        per = self.n_shoppers * self.n_items
        while self._tables and per * (len(self._tables) + 1) > self.max_rows:
            self._tables.popitem(last=False)
        self._tables[code] = table
        self.built += 1
        return table

    def probabilities(self, batch: ImpressionBatch) -> np.ndarray:
        """``(n, 3)``: p(click), p(cart | click), p(purchase | cart), from the tables where the context allows."""
        key = self.key()
        if key != self._key:  # the model's answers changed (e.g. recalibrated): no table holds them any more
            self._tables.clear()
            self._key = key
        n = len(batch)
        seen, discount = np.asarray(batch.seen), np.asarray(batch.discount, dtype=float)
        position = np.asarray(batch.position, dtype=np.int64)
        common = (seen == 0) & (discount == 0)
        out = np.empty((n, 3))
        if not common.all():
            other = ~common
            rest = ImpressionBatch(shopper=np.asarray(batch.shopper)[other], item=np.asarray(batch.item)[other],
                                   position=position[other], seen=seen[other], discount=discount[other],
                                   in_stock=np.asarray(batch.in_stock)[other], day=np.asarray(batch.day)[other])
            out[other] = np.asarray(self.predict(rest), dtype=np.float64).reshape(-1, 3)
        rows = np.flatnonzero(common)
        if len(rows):
            weekday = (self.start_weekday + np.asarray(batch.day, dtype=np.int64)[rows]) % 7
            code = weekday + 7 * (np.asarray(batch.in_stock, dtype=np.int64)[rows] + 2 * position[rows])
            shopper, item = np.asarray(batch.shopper)[rows], np.asarray(batch.item)[rows]
            for c in np.unique(code).tolist():  # a session's rows share one or a few contexts
                pick = code == c
                out[rows[pick]] = self._table(c)[shopper[pick], item[pick]]
        return out
