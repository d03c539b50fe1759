"""Where trained restock agents lose profit against the exact optimum on ``quickstart``: a diagnosis.

Plays the exact optimal policy and each given policy on the same validation seeds (910000..) and writes
the paired comparison to ``--doc`` (default ``docs/agents_diagnosis.md``); episodes are cached under
``--cache``. The logic is ``scenarios/diagnosis.py``; this file is its command line.

    python benchmarks/quickstart_diagnosis.py --episodes 100 --policies sb3:runs/agents-benchmark/quickstart-dqn
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scenarios.diagnosis import main  # noqa: E402

if __name__ == "__main__":
    main()
