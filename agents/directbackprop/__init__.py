"""DirectBackprop-style restocking: a torch rollout of the world's day (``rollout``), a residual (s, S) agent
(``agent``) and its training on simulated episode profit (``train``)."""
