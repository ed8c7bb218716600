"""The student chat page (H5): its templates, static assets, UI strings and line shape.

The server that renders it lives elsewhere; ``CONTRACT.md`` beside this file is what the page
expects of it.
"""
