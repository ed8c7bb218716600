"""What can be wrong with a call from WeChat; each error names the HTTP status to answer with."""

from __future__ import annotations

from core.errors import HeartGuardError


class WeChatError(HeartGuardError):
    """Base for a refused WeChat callback; ``status`` is the HTTP status to answer with."""

    status = 400


class BadSignatureError(WeChatError):
    """The ``signature`` or ``msg_signature`` does not match: the call is not from WeChat."""

    status = 403


class StaleRequestError(BadSignatureError):
    """The call's timestamp is too far from now: a replay of a call signed long ago."""


class WrongAppIdError(WeChatError):
    """The message decrypted, but it was sealed for another official account."""

    status = 403


class BadCiphertextError(WeChatError):
    """The encrypted text is not valid base64, has the wrong length, or bad padding."""


class BadXmlError(WeChatError):
    """The body is not the XML WeChat sends: malformed, or a required field is missing."""


class ForbiddenXmlError(BadXmlError):
    """The XML carries a DTD, an entity or an external reference (an XML bomb, say)."""


class BodyTooLargeError(WeChatError):
    """The body is larger than any message WeChat sends."""

    status = 413
