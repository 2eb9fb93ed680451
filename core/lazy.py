"""Modules loaded the first time they are used.

Every process of `pod up` imports the product, and the OpenAI SDK was a quarter of a
worker's import (0.79 s of 3.25 s, `python -X importtime -c "import workers.runner"`)
while only a stack with an OpenAI setting calls it. `lazy_module` is the standard
library's `importlib.util.LazyLoader` recipe: the name is bound at once and the module
runs the first time one of its attributes is read. Read one before handing the module
to threads: Python 3.12's lazy loading is not guarded against two threads at once.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """`name`, imported now if it already was, else on first attribute access."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
