"""The integration API's OpenAPI 3.1 description, served at ``/api/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

from escalation.lifecycle import RESOLUTIONS

_ERROR = {"$ref": "#/components/schemas/Error"}
_OK = {"$ref": "#/components/schemas/Ok"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    meaning = {
        400: "The body is not a JSON object",
        401: "No bearer token, or a revoked or expired one",
        404: "No such case in the token's scope (never its contents)",
        409: "Not possible now (the case is closed, another counselor holds the chat)",
        422: "A field is missing or wrong; the message names it",
    }
    return {str(code): _json(_ERROR, meaning[code]) for code in codes}


def _action(summary: str, body: dict[str, Any] | None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "parameters": [{"$ref": "#/components/parameters/CaseId"}],
        "responses": {"200": _json(_OK, "Done"), **_errors(400, 401, 404, 409, 422)},
    }
    if body is not None:
        operation["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": body}},
        }
    return {"post": operation}


def _object(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


_NOTE = {"type": "string", "maxLength": 1000}


def openapi() -> dict[str, Any]:
    """The description as a JSON-ready dict."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "HeartGuard integration API",
            "version": "1",
            "description": (
                "Cases in the scope of the counselor a bearer token was issued for "
                "(`heartguard tokens issue --counselor ID`). Reading a case records the "
                "read on its timeline."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/cases": {
                "get": {
                    "summary": "Open cases, most urgent and longest waiting first",
                    "responses": {
                        "200": _json(
                            _object(
                                ["cases"],
                                cases={
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Case"},
                                },
                            ),
                            "The queue",
                        ),
                        **_errors(401),
                    },
                }
            },
            "/cases/{id}": {
                "get": {
                    "summary": "A case: timeline, student, scores, assessments, alerts, messages",
                    "parameters": [{"$ref": "#/components/parameters/CaseId"}],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/CaseFile"}, "The case"),
                        **_errors(401, 404),
                    },
                }
            },
            "/cases/{id}/ack": _action("Acknowledge", _object([], note=_NOTE)),
            "/cases/{id}/contacted": _action("The student was contacted", _object([], note=_NOTE)),
            "/cases/{id}/refer": _action(
                "Refer to a hospital (one, or every active one)",
                _object([], hospital={"type": "integer"}, note=_NOTE),
            ),
            "/cases/{id}/resolve": _action(
                "Resolve with an outcome",
                _object(["resolution"], resolution={"enum": list(RESOLUTIONS)}, note=_NOTE),
            ),
            "/cases/{id}/notes": _action("Add a note", _object(["note"], note=_NOTE)),
            "/cases/{id}/messages": _action(
                "Write to the student (takes the conversation over first if needed)",
                _object(["text"], text={"type": "string", "maxLength": 4000}),
            ),
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "parameters": {
                "CaseId": {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
            "schemas": {
                "Error": _object(["error"], error={"type": "string"}),
                "Ok": _object(
                    ["ok", "message"],
                    ok={"const": True},
                    message={"type": "string"},
                    delivered={"type": "boolean"},
                    message_id={"type": ["integer", "null"]},
                ),
                "Case": _object(
                    ["id", "number", "priority", "status"],
                    id={"type": "integer"},
                    number={"type": "string"},
                    priority={"enum": ["routine", "urgent", "emergency"]},
                    status={"type": "string"},
                    resolution={"type": ["string", "null"]},
                    reason={"type": "string"},
                    categories={"type": "array", "items": {"type": "string"}},
                    school={"type": ["string", "null"]},
                    student={"type": "string"},
                    wishes={"type": "object"},
                    created_at={"type": "string", "format": "date-time"},
                ),
                "CaseFile": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Case"},
                        _object(
                            [],
                            grade={"type": ["integer", "null"]},
                            scores={"type": "array"},
                            timeline={"type": "array"},
                            assessments={"type": "array"},
                            alerts={"type": "array"},
                            messages={"type": "array"},
                        ),
                    ]
                },
            },
        },
    }
