"""The Streamlit dashboard's UI package: a thin layer over ``workbench``.

``sidebar`` turns controls into an ``Experiment`` (config, schemes, seeds), ``runner``
trains or loads it through the run store with a progress bar, and ``views`` draws one tab
each. No numbers are computed here: anything a notebook user would also want lives in
``workbench``.
"""

from .experiment import Experiment

__all__ = ["Experiment"]
