"""The counselor console at ``/console`` and the integration API at ``/api/v1``.

Both are route groups of the one web server (``bot.process.web_groups``); both act through
the same services as Telegram and the command line, with the signed-in (or token's)
counselor's scope, so nothing here decides who may see what.
"""
