"""WeChat signatures and safe-mode crypto, checked against WeChat's own published vectors.

Where the vectors (in ``wechat_samples.py``) come from:
- ``signature``: WeChat's message-push guide (developers.weixin.qq.com, "消息推送",
  doc/oplatform/Mobile_App/WeChat_Login/message_push.html) with Token "AAAAA", and the
  plaintext-mode example of its "消息加解密说明" (doc/subscription/guide/dev/push/encryption.html).
- Safe mode: the sample program (Sample.py / Sample.cpp) in WeChat's official "WXBizMsgCrypt"
  sample code (cryptoDemo.zip, linked from that same "消息加解密说明" page): token "spamtest",
  EncodingAESKey "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", AppID "wx2c2769f8efd9abc2",
  timestamp "1409735669", nonce "1320562132" and msg_signature
  "5d197aaffba7e9b25a30732f161a50dee96bd5fa".
"""

from __future__ import annotations

import base64
import contextlib
import struct
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st
from wechat_samples import AES_KEY, APP_ID, ENCRYPTED, MSG_SIGNATURE, NONCE, TIMESTAMP, TOKEN

from bot.channels.wechat.crypto import (
    MessageCrypto,
    check_fresh,
    check_msg_signature,
    check_signature,
    decode_encoding_aes_key,
    msg_signature,
    signature,
)
from bot.channels.wechat.errors import (
    BadCiphertextError,
    BadSignatureError,
    StaleRequestError,
    WeChatError,
    WrongAppIdError,
)


@pytest.fixture
def crypto() -> MessageCrypto:
    return MessageCrypto(TOKEN, AES_KEY, APP_ID)


def _raw_cbc(plain: bytes) -> str:
    """Encrypt ``plain`` (whole blocks) with the sample key, bypassing our own framing."""
    key = decode_encoding_aes_key(AES_KEY)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


@pytest.mark.parametrize(
    ("token", "timestamp", "nonce", "expected"),
    [
        ("AAAAA", "1714036504", "1514711492", "f464b24fc39322e44b38aa78f5edd27bd1441696"),
        ("AAAAA", "1714037059", "486452656", "899cf89e464efb63f54ddac96b0a0a235f53aa78"),
    ],
)
def test_signature_matches_wechats_published_examples(
    token: str, timestamp: str, nonce: str, expected: str
) -> None:
    assert signature(token, timestamp, nonce) == expected
    check_signature(token, timestamp, nonce, expected)


def test_a_signature_over_another_nonce_is_refused() -> None:
    with pytest.raises(BadSignatureError) as caught:
        check_signature(
            "AAAAA", "1714036504", "1514711493", signature("AAAAA", "1714036504", "1514711492")
        )
    assert caught.value.status == 403


@pytest.mark.parametrize("offset", [0, 299, -299])
def test_a_timestamp_near_now_is_fresh(offset: int) -> None:
    now = datetime(2026, 3, 2, 21, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    check_fresh(str(int(now.timestamp()) + offset), now)


@pytest.mark.parametrize("timestamp", ["1409735669", "99999999999", "", "12a", "١٢٣", "-5"])
def test_an_old_or_malformed_timestamp_is_a_stale_request(timestamp: str) -> None:
    now = datetime(2026, 3, 2, 21, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    with pytest.raises(StaleRequestError) as caught:
        check_fresh(timestamp, now)
    assert caught.value.status == 403


def test_msg_signature_matches_the_official_sample() -> None:
    assert msg_signature(TOKEN, TIMESTAMP, NONCE, ENCRYPTED) == MSG_SIGNATURE
    check_msg_signature(TOKEN, TIMESTAMP, NONCE, ENCRYPTED, MSG_SIGNATURE)


def test_the_official_sample_message_opens(crypto: MessageCrypto) -> None:
    plain = crypto.open(ENCRYPTED, timestamp=TIMESTAMP, nonce=NONCE, msg_signature=MSG_SIGNATURE)
    assert plain.startswith("<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>")
    assert "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>" in plain
    assert "<Content><![CDATA[abcdteT]]></Content>" in plain


def test_a_forged_msg_signature_is_refused_before_decrypting(crypto: MessageCrypto) -> None:
    with pytest.raises(BadSignatureError):
        crypto.open(ENCRYPTED, timestamp=TIMESTAMP, nonce=NONCE, msg_signature="0" * 40)
    with pytest.raises(BadSignatureError):
        crypto.open(ENCRYPTED, timestamp="1409735670", nonce=NONCE, msg_signature=MSG_SIGNATURE)


def test_a_message_sealed_for_another_account_is_refused() -> None:
    other = MessageCrypto(TOKEN, AES_KEY, "wx0000000000000000")
    with pytest.raises(WrongAppIdError) as caught:
        other.decrypt(ENCRYPTED)
    assert caught.value.status == 403


def test_round_trip_with_chinese_text(crypto: MessageCrypto) -> None:
    message = "<xml><Content><![CDATA[我今天有点难过]]></Content></xml>"
    sealed = crypto.seal(message, timestamp="1700000000", nonce="42")
    assert sealed.msg_signature == msg_signature(TOKEN, "1700000000", "42", sealed.encrypt)
    assert (
        crypto.open(
            sealed.encrypt, timestamp="1700000000", nonce="42", msg_signature=sealed.msg_signature
        )
        == message
    )


def test_sealing_pads_to_32_byte_blocks_and_uses_a_fresh_prefix(crypto: MessageCrypto) -> None:
    for size in range(70):
        raw = base64.b64decode(crypto.encrypt("x" * size))
        assert len(raw) % 32 == 0
    assert crypto.encrypt("same") != crypto.encrypt("same")
    prefix = b"0123456789abcdef"
    assert crypto.encrypt("same", prefix=prefix) == crypto.encrypt("same", prefix=prefix)


def test_a_full_block_of_padding_is_added_when_the_text_fills_the_block(
    crypto: MessageCrypto,
) -> None:
    # 16 prefix + 4 length + 26 message + 18 AppID = 64 bytes: WeChat adds 32 bytes of 0x20.
    raw = base64.b64decode(crypto.encrypt("x" * 26, prefix=bytes(16)))
    assert len(raw) == 96
    assert crypto.decrypt(base64.b64encode(raw).decode()) == "x" * 26


@pytest.mark.parametrize(
    "encrypted",
    [
        "not base64!",
        "密文",
        "",
        base64.b64encode(b"short").decode(),
        base64.b64encode(bytes(17)).decode(),
    ],
)
def test_text_that_is_not_ciphertext_is_refused(crypto: MessageCrypto, encrypted: str) -> None:
    with pytest.raises(BadCiphertextError) as caught:
        crypto.decrypt(encrypted)
    assert caught.value.status == 400


@pytest.mark.parametrize("last_byte", [0, 33, 255])
def test_padding_outside_wechats_range_is_refused(crypto: MessageCrypto, last_byte: int) -> None:
    with pytest.raises(BadCiphertextError, match="padding"):
        crypto.decrypt(_raw_cbc(bytes(31) + bytes([last_byte])))


def test_inconsistent_padding_bytes_are_refused(crypto: MessageCrypto) -> None:
    with pytest.raises(BadCiphertextError, match="padding"):
        crypto.decrypt(_raw_cbc(bytes(29) + b"\x01\x03\x03"))


def test_a_length_longer_than_the_text_is_refused(crypto: MessageCrypto) -> None:
    body = bytes(16) + struct.pack(">I", 1000) + b"hi" + APP_ID.encode()
    pad = 32 - len(body) % 32
    with pytest.raises(BadCiphertextError, match="length"):
        crypto.decrypt(_raw_cbc(body + bytes([pad]) * pad))


def test_a_message_that_is_not_utf8_is_refused(crypto: MessageCrypto) -> None:
    body = bytes(16) + struct.pack(">I", 2) + b"\xff\xfe" + APP_ID.encode()
    pad = 32 - len(body) % 32
    with pytest.raises(BadCiphertextError, match="UTF-8"):
        crypto.decrypt(_raw_cbc(body + bytes([pad]) * pad))


@pytest.mark.parametrize("key", ["", AES_KEY[:-1], AES_KEY + "A", "!" * 43, "中" * 43])
def test_a_malformed_encoding_aes_key_is_a_clear_value_error(key: str) -> None:
    with pytest.raises(ValueError, match="EncodingAESKey"):
        MessageCrypto(TOKEN, key, APP_ID)


def test_repr_hides_the_token_and_key(crypto: MessageCrypto) -> None:
    shown = repr(crypto)
    assert APP_ID in shown
    assert TOKEN not in shown
    assert AES_KEY not in shown


@given(st.text())
def test_decrypting_any_text_fails_only_with_our_errors(encrypted: str) -> None:
    crypto = MessageCrypto(TOKEN, AES_KEY, APP_ID)
    with contextlib.suppress(WeChatError):
        crypto.decrypt(encrypted)


@given(
    st.integers(min_value=1, max_value=12).flatmap(
        lambda n: st.binary(min_size=16 * n, max_size=16 * n)
    )
)
def test_decrypting_any_whole_blocks_fails_only_with_our_errors(raw: bytes) -> None:
    crypto = MessageCrypto(TOKEN, AES_KEY, APP_ID)
    with contextlib.suppress(WeChatError):
        crypto.decrypt(base64.b64encode(raw).decode())


@given(st.text(), st.text(), st.text(), st.text())
def test_opening_with_any_parameters_fails_only_with_our_errors(
    encrypted: str, timestamp: str, nonce: str, given_signature: str
) -> None:
    crypto = MessageCrypto(TOKEN, AES_KEY, APP_ID)
    with contextlib.suppress(WeChatError):
        crypto.open(encrypted, timestamp=timestamp, nonce=nonce, msg_signature=given_signature)


@given(st.text(), st.binary(min_size=16, max_size=16))
def test_any_text_survives_a_round_trip(message: str, prefix: bytes) -> None:
    crypto = MessageCrypto(TOKEN, AES_KEY, APP_ID)
    assert crypto.decrypt(crypto.encrypt(message, prefix=prefix)) == message
