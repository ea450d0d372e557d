"""Settling a long-lived process (gunicorn worker, RQ worker) once it has started."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Move everything made while starting (modules, the app, warmed renderers) out of the
    garbage collector's reach: they live as long as the process, yet every full collection
    would walk them again (with the PDF and imaging libraries that is ~250,000 objects, which
    made bulk attendance work grow faster than its input), and a forked RQ work horse would
    copy their pages just by counting them."""
    gc.freeze()
