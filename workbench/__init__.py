"""The reweighting workbench: see what sample and group reweighting does to a model.

Registries (``DATASETS``, ``TRANSFORMS``, ``SCHEMES``, ``MODELS``), the config
(``RunConfig``), the engine (``train``) and comparisons over schemes and seeds
(``compare``) are the public API; ``train`` and ``compare`` also take your own arrays
(``data=ArrayData(X, y, groups=g)``) and ``nn.Module`` factory (``model=``): ``workbench.own``.

Example:
    >>> import workbench as wb
    >>> "linupper" in wb.SCHEMES.names()
    True
    >>> run = wb.train(wb.RunConfig(dataset="blobs2d", epochs=1, model="linear"))
    >>> run.status
    'done'
"""

from . import metrics, store
from .callbacks import Callback, FunctionProgress, StepRecord, TqdmProgress
from .compare import Comparison
from .config import RunConfig
from .data import DATASETS, TRANSFORMS
from .engine import train_many
from .models import MODELS
from .own import ArrayData, compare, own_config, train
from .params import ConfigError
from .run import Run
from .schemes import SCHEMES
from .step_check import SchemeError
from .store import RunStore
from .sweep import Sweep, sweep

__all__ = ["DATASETS", "MODELS", "SCHEMES", "TRANSFORMS", "ArrayData", "Callback", "Comparison",
           "ConfigError", "FunctionProgress", "Run", "RunConfig", "RunStore", "SchemeError",
           "StepRecord", "TqdmProgress", "Sweep", "compare", "metrics", "own_config", "store",
           "sweep", "train", "train_many"]
__version__ = "0.1.0"
