"""`google.colab.output`: clearing and tagging outputs, a kernel port in an iframe or a window, and
Colab's custom-widget switches (JupyterLab has one widget manager, so they do nothing).

Tagged outputs live in an ipywidgets Output area per `use_tags` block: `clear(output_tags=...)`
empties exactly those areas. A port is framed through the Jupyter server's proxy
(jupyter-server-proxy, `<base_url>proxy/<port>/`), as `%tensorboard_inline` does, so it works with a
remote Jupyter; with no server it is the kernel machine's own `localhost:<port>`.
`eval_js` cannot return a value without Colab's browser bridge: it says so at once (never hangs).
"""

from __future__ import annotations

import contextlib
import html

from ..locale import tr
from . import browser
from .failure import ColabAPIError

_tagged: dict[str, list] = {}   # tag -> the Output areas of use_tags blocks that carried it


def _tags(tags) -> tuple[str, ...]:
    return (tags,) if isinstance(tags, str) else tuple(tags or ())


@contextlib.contextmanager
def use_tags(tags):
    """Everything the block displays or prints carries TAGS, for clear(output_tags=TAGS)."""
    import ipywidgets
    from IPython.display import display

    area = ipywidgets.Output()
    display(area)
    for tag in _tags(tags):
        _tagged.setdefault(tag, []).append(area)
    with area:
        yield


def clear(wait: bool = False, output_tags=()) -> None:
    """Clear the cell's output, or only what use_tags blocks tagged with OUTPUT_TAGS."""
    tags = _tags(output_tags)
    if not tags:
        from IPython.display import clear_output

        clear_output(wait=wait)
        return
    for tag in tags:
        for area in _tagged.pop(tag, []):
            area.clear_output(wait=wait)


def enable_custom_widget_manager() -> None:
    """Nothing to do: JupyterLab and Notebook 7 load third-party widgets themselves."""


def disable_custom_widget_manager() -> None:
    """Nothing to do (see enable_custom_widget_manager)."""


def no_vertical_scroll() -> None:
    """Nothing to do: JupyterLab's scrolled outputs are the user's choice (right-click an output)."""


def _port_url(port: int, path: str) -> str:
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ColabAPIError(tr("port must be a TCP port number (1-65535), not {port!r}").format(port=port))
    path = "/" + str(path or "/").lstrip("/")
    server = browser.kernel_server()
    if server is None:
        return f"http://localhost:{port}{path}"
    return server.proxy_path(port).rstrip("/") + path


def serve_kernel_port_as_iframe(port: int, path: str = "/", height: int = 400, cache_in_notebook: bool = False) -> None:
    """Show what the kernel's machine serves on PORT in a frame under the cell."""
    from IPython.display import HTML, display

    src = html.escape(_port_url(port, path))
    display(HTML(f'<iframe src="{src}" width="100%" height="{int(height)}" frameborder="0"></iframe>'))


def serve_kernel_port_as_window(port: int, path: str = "/", anchor_text: str | None = None) -> None:
    """A link that opens what the kernel's machine serves on PORT in a new window."""
    from IPython.display import HTML, display

    url = _port_url(port, path)
    text = anchor_text or url
    display(HTML(f'<a href="{html.escape(url)}" target="_blank" rel="noopener">{html.escape(text)}</a>'))


def eval_js(script: str, ignore_result: bool = False, timeout_sec: float | None = None):
    """Run SCRIPT in the browser. Only without a result: nothing carries a value back to the kernel here."""
    if ignore_result:
        from IPython.display import Javascript, display

        display(Javascript(script))
        return None
    raise ColabAPIError(tr("output.eval_js() returns a value through Colab's browser bridge, which JupyterLab "
                           "lacks: use eval_js(script, ignore_result=True) to run it without a result, or an "
                           "ipywidget to send values back"))
