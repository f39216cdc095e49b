"""Start the dashboard in a warm process: ``python scripts/serve.py [streamlit flags]``.

Why: ``streamlit run`` imports the app's modules only when the first browser connects, so
the first visitor waited for torch, pandas and plotly to import and for torch's one-time
set-up (first graph, first optimiser step): about 8 s of a 2-core machine before anything
showed. Here the server process imports them and trains one tiny run first, and starts
the worker process the app trains in (``wbui.worker``), then serves ``app.py`` exactly as
``streamlit run app.py`` would (same flags, same config file).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def warm() -> None:
    """Import what the first page needs and pay torch's one-time costs, here and in the
    worker process the app trains in (``wbui.worker``), which starts first and warms up
    beside this one."""
    sys.path.insert(0, str(ROOT))
    from wbui import worker

    worker.start()
    import torch

    import wbui.runner  # noqa: F401  (torch, pandas, the registries, the run store)
    import wbui.sidebar  # noqa: F401
    import wbui.views  # noqa: F401  (plotly and the figure builders)
    from wbui.estimate import _warm_up
    from workbench.engine import train_many
    from workbench.threads import torch_threads

    torch.set_num_threads(torch_threads())
    _warm_up(train_many)  # the estimate's probe trains a few steps in this process
    worker.wait_until_warm()


if __name__ == "__main__":
    os.chdir(ROOT)  # .streamlit/config.toml is read from here
    warm()
    from streamlit.web.cli import main

    sys.argv = ["streamlit", "run", str(ROOT / "app.py"), *sys.argv[1:]]
    sys.exit(main())
