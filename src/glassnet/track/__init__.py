"""Record training runs in an embedded store: metrics, every weight and bias, datasets, models.

``run = gn.track.init(project, config=...)`` starts a run; ``run.watch()`` is the
training callback; ``gn.track.open_store()`` reads everything back.
"""

from glassnet.track.registry import load_dataset, load_model
from glassnet.track.run import Run, init
from glassnet.track.store import Store, open_store

__all__ = ["Run", "Store", "init", "load_dataset", "load_model", "open_store"]
