"""WeChat's own published test vectors, shared by the WeChat tests.

Where they come from:
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

TOKEN = "spamtest"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx2c2769f8efd9abc2"
TIMESTAMP = "1409735669"
NONCE = "1320562132"
MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
ENCRYPTED = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6"
    "F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T33"
    "2jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCg"
    "avjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6Oewp"
    "usjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)
