"""The WeChat official account (服务号): the protocol, the callback and the channel's port.

The protocol modules (signatures and crypto, XML, the send APIs, the service window) are pure:
no database, no settings object. ``callback.py`` serves WeChat's calls on the web server and
``kit.py`` plugs the channel into the runtime.
"""

# The channel name chat identities and stored lines are kept under.
CHANNEL = "wechat"
