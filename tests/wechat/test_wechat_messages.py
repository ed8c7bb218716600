"""WeChat XML: inbound messages read safely, passive replies written so they read back the same."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wechat_samples import (
    AES_KEY,
    APP_ID,
    ENCRYPTED,
    MSG_SIGNATURE,
    NONCE,
    TIMESTAMP,
    TOKEN,
)

from bot.channels.wechat.crypto import MessageCrypto
from bot.channels.wechat.errors import (
    BadXmlError,
    BodyTooLargeError,
    ForbiddenXmlError,
    WeChatError,
)
from bot.channels.wechat.messages import (
    MAX_BODY_BYTES,
    cdata,
    encrypted_reply,
    open_safe_mode,
    parse_encrypted,
    parse_message,
    text_reply,
)

# The text message of WeChat's "接收普通消息" documentation.
TEXT_MESSAGE = (
    "<xml><ToUserName><![CDATA[toUser]]></ToUserName>"
    "<FromUserName><![CDATA[fromUser]]></FromUserName>"
    "<CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[this is a test]]></Content><MsgId>1234567890123456</MsgId></xml>"
)
SUBSCRIBE_EVENT = (
    "<xml><ToUserName><![CDATA[toUser]]></ToUserName>"
    "<FromUserName><![CDATA[FromUser]]></FromUserName><CreateTime>123456789</CreateTime>"
    "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event>"
    "<EventKey><![CDATA[qrscene_123123]]></EventKey></xml>"
)
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    "<xml><ToUserName>&lol3;</ToUserName></xml>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    "<xml><Content>&x;</Content></xml>"
)
BARE_DTD = '<?xml version="1.0"?><!DOCTYPE xml><xml><ToUserName>a</ToUserName></xml>'


def test_a_text_message_reads_into_its_fields() -> None:
    message = parse_message(TEXT_MESSAGE.encode())
    assert message.to_user == "toUser"
    assert message.from_user == "fromUser"
    assert message.create_time == 1348831860
    assert message.msg_type == "text"
    assert message.is_text
    assert message.content == "this is a test"
    assert message.msg_id == "1234567890123456"
    assert (message.event, message.event_key, message.encrypt) == (None, None, None)


def test_an_event_reads_its_event_and_key() -> None:
    message = parse_message(SUBSCRIBE_EVENT)
    assert (message.msg_type, message.event, message.event_key) == (
        "event",
        "subscribe",
        "qrscene_123123",
    )
    assert message.msg_id is None
    assert not message.is_text


def test_a_safe_mode_envelope_opens_into_the_inner_message() -> None:
    body = (
        "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
        f"<Encrypt><![CDATA[{ENCRYPTED}]]></Encrypt></xml>"
    )
    message = open_safe_mode(
        body.encode(),
        MessageCrypto(TOKEN, AES_KEY, APP_ID),
        timestamp=TIMESTAMP,
        nonce=NONCE,
        msg_signature=MSG_SIGNATURE,
    )
    assert message.from_user == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
    assert message.content == "abcdteT"
    assert message.msg_id == "6054768590064713728"
    assert message.encrypt == ENCRYPTED


def test_an_envelope_without_encrypt_is_refused() -> None:
    with pytest.raises(BadXmlError, match="Encrypt"):
        parse_encrypted(TEXT_MESSAGE)


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, BARE_DTD])
def test_dtds_and_entities_are_refused_unexpanded(body: str) -> None:
    with pytest.raises(ForbiddenXmlError) as caught:
        parse_message(body.encode())
    assert caught.value.status == 400


def test_a_body_over_the_limit_is_refused_before_parsing() -> None:
    body = TEXT_MESSAGE.replace("this is a test", "字" * MAX_BODY_BYTES)
    with pytest.raises(BodyTooLargeError) as caught:
        parse_message(body)
    assert caught.value.status == 413


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ("", "empty"),
        ("<xml><ToUserName>a</ToUserName>", "well-formed"),
        ("<notxml/>", "root"),
        (
            TEXT_MESSAGE.replace("<FromUserName><![CDATA[fromUser]]></FromUserName>", ""),
            "FromUserName",
        ),
        (TEXT_MESSAGE.replace("1348831860", "yesterday"), "CreateTime"),
        (TEXT_MESSAGE.replace("1234567890123456", "12ab"), "MsgId"),
    ],
)
def test_malformed_messages_are_refused_with_the_reason(body: str, complaint: str) -> None:
    with pytest.raises(BadXmlError, match=complaint):
        parse_message(body)


def test_cdata_splits_its_terminator() -> None:
    assert cdata("a]]>b") == "<![CDATA[a]]]]><![CDATA[>b]]>"


def test_a_text_reply_reads_back_with_markup_and_chinese_intact() -> None:
    content = "别担心 <b>&amp; ]]> 12356 ]]]]>"
    xml = text_reply(to_user="oStudent", from_user="gh_account", content=content, create_time=7)
    message = parse_message(xml)
    assert (message.to_user, message.from_user, message.create_time) == (
        "oStudent",
        "gh_account",
        7,
    )
    assert message.msg_type == "text"
    assert message.content == content


def test_characters_xml_cannot_carry_are_dropped_from_a_reply() -> None:
    xml = text_reply(to_user="o", from_user="g", content="a\x00b\x1bc\ufffed", create_time=1)
    assert parse_message(xml).content == "abcd"


def test_an_encrypted_reply_opens_back_into_the_plain_reply() -> None:
    crypto = MessageCrypto(TOKEN, AES_KEY, APP_ID)
    plain = text_reply(to_user="oStudent", from_user="gh_account", content="你好", create_time=9)
    envelope = encrypted_reply(crypto.seal(plain, timestamp="1700000000", nonce="n0nce"))
    signature = envelope.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    assert "<TimeStamp>1700000000</TimeStamp>" in envelope
    assert "<Nonce><![CDATA[n0nce]]></Nonce>" in envelope
    opened = open_safe_mode(
        envelope, crypto, timestamp="1700000000", nonce="n0nce", msg_signature=signature
    )
    assert opened.content == "你好"


def test_an_encrypted_reply_needs_a_numeric_timestamp() -> None:
    crypto = MessageCrypto(TOKEN, AES_KEY, APP_ID)
    with pytest.raises(ValueError, match="timestamp"):
        encrypted_reply(crypto.seal("<xml/>", timestamp="<now>", nonce="1"))


@given(st.binary(max_size=600))
def test_any_bytes_fail_only_with_our_errors(body: bytes) -> None:
    with contextlib.suppress(WeChatError):
        parse_message(body)


@given(st.text(max_size=300))
def test_any_text_wrapped_as_a_message_fails_only_with_our_errors(content: str) -> None:
    with contextlib.suppress(WeChatError):
        parse_message(TEXT_MESSAGE.replace("<![CDATA[this is a test]]>", content))


@given(st.text(max_size=300))
def test_any_reply_text_reads_back(content: str) -> None:
    xml = text_reply(to_user="o", from_user="g", content=content, create_time=1)
    expected = cdata(content)[len("<![CDATA[") : -len("]]>")].replace("]]]]><![CDATA[>", "]]>")
    # XML parsers normalise line ends, even inside CDATA.
    expected = expected.replace("\r\n", "\n").replace("\r", "\n")
    assert parse_message(xml).content == expected
