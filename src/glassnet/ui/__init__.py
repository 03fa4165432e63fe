"""The dashboard: a local web page to see runs, curves and every weight and bias.

``glassnet.ui.serve(store)`` runs it (FastAPI + uvicorn, the ``ui`` extra);
``glassnet.ui.report.write_html(run_ids, store, path)`` writes the same figures into one
self-contained HTML file. The web libraries are imported only when these are called.
"""

from __future__ import annotations


def serve(store=None, host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True):
    """Serve the dashboard of ``store`` at http://host:port/ (see :mod:`glassnet.ui.server`)."""
    from glassnet.ui.server import serve as _serve

    return _serve(store=store, host=host, port=port, open_browser=open_browser)


def create_app(store_path=None, allowed_hosts=None):
    """The dashboard's FastAPI app for the store at ``store_path``."""
    from glassnet.ui.app import create_app as _create_app

    return _create_app(store_path, allowed_hosts=allowed_hosts)


__all__ = ["create_app", "serve"]
