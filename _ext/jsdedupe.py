"""Sphinx extension: drop the duplicated inline scripts that Sphinx 7.4 adds to every page.

An inline script registered after the builder starts (sphinx-thebe's ``const THEBE_JS_URL``)
is stored as ``_JavaScript(None)`` and re-added as ``_JavaScript('')``, so Sphinx's duplicate
check misses it; the second copy throws "Identifier 'THEBE_JS_URL' has already been declared"
in the browser. ``make check-book`` caught it. Normalise the filename and keep one of each.
"""

from sphinx.builders.html._assets import _JavaScript


def _dedupe(app, *args):
    js = getattr(app.builder, "_js_files", None)
    if js is None:
        return
    kept = []
    for asset in js:
        if asset.filename is None:
            asset = _JavaScript("", priority=asset.priority, **asset.attributes)
        if asset not in kept:
            kept.append(asset)
    js[:] = kept


def setup(app):
    app.connect("env-before-read-docs", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
