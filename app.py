"""The reweighting workbench dashboard: ``streamlit run app.py``.

Pick a data set, an imbalance setting and several weighting schemes in the sidebar; the
comparison trains (or loads from the run store) every scheme under every seed, and the
tabs show metrics, weights, groups, calibration, data, stored runs and the schemes
themselves. On first load the default experiment (digits, long-tail ratio 50, mlp,
uniform / inverse_frequency / linupper, 3 seeds) is shown at once. Training runs in a
worker process (``wbui.worker``): every second the progress bar (with the groups' weights
so far) and the open view redraw, Overview, Weights and Groups from the partial records.

Environment:
    WORKBENCH_STORE               run store folder (default ``<repo>/runs``)
    WORKBENCH_APP_DEFAULT_EPOCHS  epochs of the default experiment (default: the data set's
                                  ``default_budget``, else RunConfig's 30; the browser test
                                  uses 3 so that it finishes in seconds)
    WORKBENCH_TORCH_THREADS       torch intra-op threads for training (default 1, as in the
                                  CLI and ``wb.train``: ``workbench.threads``)
    WORKBENCH_ALLOW_SERVER_PATHS  1: data files may also be given as paths on the server
                                  (default: upload only; ``wbui.upload``)
    WORKBENCH_APP_TRAINING        process (default: a worker process, ``wbui.worker``) or
                                  thread (a thread of the server; same numbers)
"""

import streamlit as st

from wbui import runner, sidebar
from wbui.views import TABS

LIVE_TABS = ("Overview", "Weights", "Groups")  # drawn from partial records while training

st.set_page_config(page_title="Reweighting workbench", page_icon=":material/balance:",
                   layout="wide", initial_sidebar_state="expanded")
st.title("Reweighting workbench")
st.caption("See what sample and group reweighting does to a model: train small models under "
           "several weighting schemes and seeds, and compare them side by side.")

runner.limit_torch_threads()
experiment, problems = sidebar.experiment_controls()
sidebar.estimate_controls(experiment, problems)
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
runner.follow_sidebar(experiment, problems)
runner.finish_job()


def draw_views(results, others="same") -> None:
    """One tab per view; only the open one is drawn. While a comparison trains, the live
    views get the partial ``results`` and the others ``others``: the runs finished so far
    (None: none yet)."""
    for (name, view), tab in zip(TABS.items(), st.tabs(list(TABS), key="view",
                                                         on_change="rerun")):
        if not tab.open:
            continue
        with tab:
            shown = results if others == "same" or name in LIVE_TABS else others
            if shown is None and others != "same" and name not in ("Learn", "What-if", "Runs"):
                st.subheader(name)
                st.info("Shown once the first runs finish; Overview, Weights and Groups follow "
                        "the training live.", icon=":material/hourglass_top:")
            else:
                view.show(shown, experiment)


@st.fragment(run_every=1.0)
def live() -> None:
    """While the comparison trains, every second: progress and Cancel, and the views from
    the finished runs and the partial records (made once for both). The progress box
    draws the groups' weights, except on the Weights tab, which draws them itself."""
    job = st.session_state.get("job")
    if job is None or not job.running:
        st.rerun()  # finished: the whole page shows the stored comparison
    results, others = runner.live_results(job)
    weights_tab = st.session_state.get("view") == "Weights"  # draws the same chart itself
    runner.progress_box(job, results, weights_chart=not weights_tab)
    draw_views(results, others)


failure = st.session_state.pop("failure", None)
if failure:
    st.error(failure, icon=":material/error:")
runner.banner(experiment)
if runner.training():
    live()
else:  # the same layout as live(): the tabs keep their place when training ends
    st.container(key="live_box_slot")
    draw_views(runner.current_results())
