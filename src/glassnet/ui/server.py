"""``glassnet ui``: serve the dashboard with uvicorn on 127.0.0.1 and open a browser."""

from __future__ import annotations

import threading

from glassnet.errors import require


def serve(store=None, host: str = "127.0.0.1", port: int = 8765,
          open_browser: bool = True) -> None:
    """Serve the dashboard of ``store`` at http://host:port/ until interrupted.

    Binds 127.0.0.1 (this machine only) unless ``host`` says otherwise; opens the
    default browser on the runs list once the server is up, unless ``open_browser``
    is False.
    """
    uvicorn = require("uvicorn", "ui")
    from glassnet.ui.app import LOOPBACK_HOSTS, create_app

    # on loopback, answer only requests addressed to a loopback name (no DNS rebinding)
    app = create_app(store, allowed_hosts=LOOPBACK_HOSTS if host in LOOPBACK_HOSTS else None)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}/"
    print(f"glassnet dashboard at {url} (Ctrl+C to stop)", flush=True)
    if open_browser:
        threading.Thread(target=_open_when_up, args=(server, url), daemon=True).start()
    server.run()


def _open_when_up(server, url: str) -> None:
    import time
    import webbrowser

    for _ in range(200):  # wait up to 10 s for the socket, so the page does not 404
        if server.started:
            webbrowser.open(url)
            return
        time.sleep(0.05)
