"""One place that decides whether a request wants a whole page or an HTMX fragment."""

from flask import Response, after_this_request, redirect, render_template, request


def is_htmx() -> bool:
    """True for requests made by HTMX, except history restores, which need the whole page."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(page: str, fragment: str, **context) -> str:
    """Render the fragment for HTMX requests and the page (which includes it) otherwise.

    The response says it varies with HX-Request, so that no cache (the browser's included)
    hands a fragment to a request for the page, or the page to HTMX.
    """

    @after_this_request
    def _vary(response: Response) -> Response:
        response.vary.add("HX-Request")
        return response

    return render_template(fragment if is_htmx() else page, **context)


def redirect_to(url: str) -> Response:
    """A 303 redirect, or for HTMX an HX-Redirect so that the browser loads the whole page."""
    if is_htmx():
        response = Response(status=204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)


def dialog_done(fragment: str, **context) -> Response:
    """The answer to a form in an HTMX <dialog> that has done its work: the fragment's
    out-of-band swaps apply (a list gains what was added, a message shows), the dialog's own
    content is left alone, and "dialog-done" after the swap closes it (static/js/app.js)."""
    response = Response(render_template(fragment, **context))
    response.headers["HX-Reswap"] = "none"
    response.headers["HX-Trigger-After-Swap"] = "dialog-done"
    return response
