"""The reweighting workbench dashboard: ``streamlit run app.py``.

Pick a data set, an imbalance setting and several weighting schemes in the sidebar; the
comparison trains (or loads from the run store) every scheme under every seed, and the
tabs show metrics, weights, groups, calibration, data, stored runs and the schemes
themselves. On first load the default experiment (digits, long-tail ratio 50, mlp,
uniform / inverse_frequency / linupper, 3 seeds) is shown at once.

Environment:
    WORKBENCH_STORE               run store folder (default ``<repo>/runs``)
    WORKBENCH_APP_DEFAULT_EPOCHS  epochs of the default experiment (default: RunConfig's, 30; the
                                  browser test uses 3 so that it finishes in seconds)
    WORKBENCH_TORCH_THREADS       torch intra-op threads for training (default 1, as in the
                                  CLI and ``wb.train``: ``workbench.threads``)
"""

import streamlit as st

from wbui import runner, sidebar
from wbui.views import TABS

st.set_page_config(page_title="Reweighting workbench", page_icon=":material/balance:",
                   layout="wide", initial_sidebar_state="expanded")
st.title("Reweighting workbench")
st.caption("See what sample and group reweighting does to a model: train small models under "
           "several weighting schemes and seeds, and compare them side by side.")

runner.limit_torch_threads()
experiment, problems = sidebar.experiment_controls()
force = st.sidebar.checkbox("Retrain even if stored", key="force",
                            help="Train again and overwrite stored runs of this experiment.")
clicked = st.sidebar.button("Run comparison", type="primary", key="run", disabled=bool(problems),
                            icon=":material/play_arrow:", width="stretch",
                            help="Fix the errors shown in red first." if problems else
                            "Train every scheme × seed; stored runs are loaded, not retrained.")
if clicked:
    runner.request(experiment, force)
elif "started" not in st.session_state and not problems:
    runner.request(experiment)  # first page load: show the default experiment at once
st.session_state.started = True
runner.run_pending()
results = runner.current_results()

for tab, view in zip(st.tabs(list(TABS), key="view", on_change="rerun"), TABS.values()):
    if tab.open:
        with tab:
            view.show(results, experiment)
