"""The student chat page (H5): its routes, its port, its templates, assets, UI strings and lines.

``CONTRACT.md`` beside this file is what the page expects of the server; ``chat.py`` and
``stream.py`` keep it, ``kit.py`` plugs the channel into the runtime.
"""

# The channel name chat identities and stored lines are kept under.
CHANNEL = "web"
