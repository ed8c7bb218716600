"""HeartGuard's web server: one ASGI app for every page and API it serves.

Route groups plug in (the student chat page, the WeChat callback, later the counselor console
and the integration API); the app around them guards every request the same way (errors,
logs without query strings or bodies, security headers, a body limit), and the sessions,
CSRF and signing helpers here serve any group that signs people in.
"""
