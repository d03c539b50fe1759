"""The Restock observation written by one compiled loop over worlds and SKUs (see ``RestockView.observe``).

``RestockView.observe_numpy`` is the vectorised reference; a test checks that both write the same
observation. The layout is ``RestockView``'s: a block of per-SKU fields for each SKU, then the
calendar features.
"""

from __future__ import annotations

from shopgym.world.kernel import compile_kernel


def _observe_worlds(obs, stock, backlog, pipeline, sales_history, window, price, unit_cost, lead, forecast, calendar):
    """Fill ``obs`` (``(b, obs_size)`` float32) in place.

    Args:
        stock: ``(b, n, K)`` units per age bucket; backlog: ``(b, n)`` units; pipeline: ``(b, n, P + 1)`` units
            on order; between days slot ``k`` holds the units arriving ``k + 1`` days after the last simulated
            day (slot 0: at the start of the coming day, before its sales) and slot ``P`` is empty.
        sales_history: ``(b, n, H)`` units sold per day, most recent last (``World.sales_history``); the
            observation takes its last ``window`` columns.
        price: ``(b, n)`` currency/unit; unit_cost: ``(n,)`` currency/unit; lead: ``(n,)`` days.
        forecast: ``(b, n, P + 1)`` expected demand from today on (units), ``(1, n, P + 1)`` when the same for
            every world, or ``(0, 0, 0)`` for no forecast fields.
        calendar: ``(5,)`` calendar features of today.
    """
    n_worlds, n_skus, n_buckets = stock.shape
    sales_end = sales_history.shape[2]
    n_pipe = pipeline.shape[2] - 1
    with_fc = forecast.shape[0] > 0
    n_fields = 2 + n_pipe + window + 3 + (2 if with_fc else 0)
    block = n_skus * n_fields
    for w in range(n_worlds):
        for i in range(n_skus):
            base = i * n_fields
            on_hand = 0
            for k in range(n_buckets):
                on_hand += stock[w, i, k]
            obs[w, base] = on_hand
            obs[w, base + 1] = backlog[w, i]
            for k in range(n_pipe):
                obs[w, base + 2 + k] = pipeline[w, i, k]
            f = base + 2 + n_pipe
            for k in range(window):
                obs[w, f + k] = sales_history[w, i, sales_end - window + k]
            f += window
            obs[w, f] = price[w, i]
            obs[w, f + 1] = unit_cost[i]
            obs[w, f + 2] = lead[i]
            if with_fc:
                fw = w if forecast.shape[0] > 1 else 0  # one row may serve every world
                obs[w, f + 3] = forecast[fw, i, 0]
                total = 0.0
                for k in range(lead[i] + 1):
                    total += forecast[fw, i, k]
                obs[w, f + 4] = total
        for k in range(calendar.shape[0]):
            obs[w, block + k] = calendar[k]


observe_worlds = compile_kernel(_observe_worlds)
