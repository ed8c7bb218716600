"""The WeChat official-account (服务号) protocol: signatures, safe-mode crypto, XML, the send APIs.

Pure protocol code: no database, no settings object. The web server wires it to the student
service with values it reads from the settings and the environment.
"""
