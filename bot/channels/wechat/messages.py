"""WeChat's XML: reading an inbound message safely, writing a passive text reply.

Inbound bodies are parsed with ``defusedxml``, which refuses DTDs, entities and external
references, so an XML bomb never expands. Bodies over :data:`MAX_BODY_BYTES` are refused before
parsing: a text message is at most a few kilobytes even in compatible mode, where WeChat sends
the plaintext and its base64 ciphertext side by side.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from bot.channels.wechat.crypto import MessageCrypto, SealedReply
from bot.channels.wechat.errors import BadXmlError, BodyTooLargeError, ForbiddenXmlError

# 64 KiB: ten times the largest message WeChat sends a text account, small enough that a
# flood of maximal bodies costs the server nothing worth mentioning.
MAX_BODY_BYTES = 64 * 1024

# Characters XML 1.0 cannot carry even inside CDATA; WeChat would reject a reply holding one.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_DIGITS = re.compile(r"[0-9]{1,20}")


@dataclass(frozen=True)
class InboundMessage:
    """One message or event WeChat delivered; ``from_user`` is the student's openid."""

    to_user: str
    from_user: str
    create_time: int
    msg_type: str
    content: str | None = None
    msg_id: str | None = None
    event: str | None = None
    event_key: str | None = None
    encrypt: str | None = None

    @property
    def is_text(self) -> bool:
        """Whether this is a text message (the only kind the pipeline reads)."""
        return self.msg_type == "text"


def _parse(body: bytes | str) -> ET.Element:
    size = len(body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body)
    if size > MAX_BODY_BYTES:
        raise BodyTooLargeError(f"the body is larger than {MAX_BODY_BYTES} bytes")
    if not size:
        raise BadXmlError("the body is empty")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ForbiddenXmlError(
            "the XML carries a DTD, an entity or an external reference"
        ) from exc
    except (ET.ParseError, ValueError, UnicodeError) as exc:
        raise BadXmlError("the body is not well-formed XML") from exc
    if root.tag != "xml":
        raise BadXmlError("the root element is not <xml>")
    return root


def _field(root: ET.Element, name: str) -> str | None:
    node = root.find(name)
    if node is None:
        return None
    return "".join(node.itertext())


def _required(root: ET.Element, name: str) -> str:
    value = _field(root, name)
    if value is None:
        raise BadXmlError(f"the XML has no <{name}>")
    return value


def _digits(name: str, value: str) -> str:
    value = value.strip()
    if not _DIGITS.fullmatch(value):
        raise BadXmlError(f"<{name}> is not a number")
    return value


def _optional_digits(root: ET.Element, name: str) -> str | None:
    value = _field(root, name)
    return None if value is None else _digits(name, value)


def parse_message(body: bytes | str) -> InboundMessage:
    """Read a plaintext- or compatible-mode message (or a decrypted safe-mode one)."""
    root = _parse(body)
    return InboundMessage(
        to_user=_required(root, "ToUserName"),
        from_user=_required(root, "FromUserName"),
        create_time=int(_digits("CreateTime", _required(root, "CreateTime"))),
        msg_type=_required(root, "MsgType").strip(),
        content=_field(root, "Content"),
        msg_id=_optional_digits(root, "MsgId"),
        event=_field(root, "Event"),
        event_key=_field(root, "EventKey"),
        encrypt=_field(root, "Encrypt"),
    )


def parse_encrypted(body: bytes | str) -> str:
    """The ``Encrypt`` text of a safe-mode envelope."""
    encrypted = _field(_parse(body), "Encrypt")
    if not encrypted:
        raise BadXmlError("the XML has no <Encrypt>")
    return encrypted.strip()


def open_safe_mode(
    body: bytes | str, crypto: MessageCrypto, *, timestamp: str, nonce: str, msg_signature: str
) -> InboundMessage:
    """Check, decrypt and read a safe-mode message; the result keeps its ``Encrypt`` text."""
    encrypted = parse_encrypted(body)
    inner = parse_message(
        crypto.open(encrypted, timestamp=timestamp, nonce=nonce, msg_signature=msg_signature)
    )
    return replace(inner, encrypt=encrypted)


def cdata(text: str) -> str:
    """``text`` as CDATA: ``]]>`` split across two sections, characters XML forbids dropped."""
    cleaned = _NOT_XML.sub("", text)
    return "<![CDATA[" + cleaned.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(*, to_user: str, from_user: str, content: str, create_time: int) -> str:
    """A passive text reply; ``to_user`` is the student's openid, ``from_user`` the account."""
    return (
        "<xml>"
        f"<ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content>"
        "</xml>"
    )


def encrypted_reply(sealed: SealedReply) -> str:
    """The safe-mode envelope around a sealed reply."""
    if not _DIGITS.fullmatch(sealed.timestamp):
        raise ValueError("a reply's timestamp is a number of seconds")
    return (
        "<xml>"
        f"<Encrypt>{cdata(sealed.encrypt)}</Encrypt>"
        f"<MsgSignature>{cdata(sealed.msg_signature)}</MsgSignature>"
        f"<TimeStamp>{sealed.timestamp}</TimeStamp>"
        f"<Nonce>{cdata(sealed.nonce)}</Nonce>"
        "</xml>"
    )
