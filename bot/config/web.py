"""Settings of the web server (chat page, health check) and the WeChat service account.

Their secrets come from the environment, like every other secret: the session secret from
``HEARTGUARD_WEB_SECRET``; WeChat's token, EncodingAESKey and AppSecret from
``HEARTGUARD_WECHAT_TOKEN``, ``HEARTGUARD_WECHAT_AES_KEY`` and ``HEARTGUARD_WECHAT_APP_SECRET``.
Their shape is checked here; whether the ones a process needs are set is checked when it starts.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, field_validator

from bot.config.durations import parse_duration
from bot.translation import N_

ENV_WEB_SECRET = "HEARTGUARD_WEB_SECRET"  # noqa: S105 (a variable name, not a secret)
ENV_WECHAT_TOKEN = "HEARTGUARD_WECHAT_TOKEN"  # noqa: S105
ENV_WECHAT_AES_KEY = "HEARTGUARD_WECHAT_AES_KEY"
ENV_WECHAT_APP_SECRET = "HEARTGUARD_WECHAT_APP_SECRET"  # noqa: S105
# An HMAC key shorter than this is guessable; 32 characters of base64 are 192 bits.
MIN_WEB_SECRET = 32

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
_AES_KEY = re.compile(r"[A-Za-z0-9+/]{43}")
_PATH = re.compile(r"/[A-Za-z0-9._~/-]*")


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _http_url(value: str, example: str) -> str:
    if value and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
        raise ValueError(f'expected an http(s) URL such as "{example}"')
    return value.rstrip("/")


class WebSettings(_Section):
    """The web server: the student chat page (H5), the health check, later the console."""

    enabled: bool = False
    listen: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    # Where students reach the server (behind the reverse proxy): links in WeChat replies
    # and in alerts (the case's console page) point here, and an https URL makes the session
    # cookies Secure.
    public_url: str = ""
    # Per-student flood control for the chat page, as for Telegram.
    flood_burst: int = Field(default=5, ge=1, le=100)
    flood_interval: Duration = timedelta(seconds=1)
    # A student's own device stays signed in this long after their last visit; on a shared
    # computer the session ends when the browser closes or after this much idle time.
    session_lifetime: Duration = timedelta(days=30)
    shared_idle_timeout: Duration = timedelta(minutes=20)
    # Where a generated session secret is kept (only with privacy.allow_generated_key).
    secret_file: str = "var/web.secret"  # noqa: S105 (a path, not a secret)
    secret: SecretStr | None = Field(default=None, exclude=True)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        return _http_url(value, "https://xinwei.example.cn")

    @field_validator("secret")
    @classmethod
    def _secret_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_WEB_SECRET:
            raise ValueError(f"${ENV_WEB_SECRET} must be at least {MIN_WEB_SECRET} characters")
        return value

    @property
    def secure(self) -> bool:
        """Whether students reach the server over HTTPS (cookies are then Secure)."""
        return self.public_url.startswith("https://")


class WeChatSettings(_Section):
    """The WeChat service account (服务号): its callback, and its send APIs."""

    enabled: bool = False
    # The callback path on the web server (the URL set in WeChat's console is public_url+path).
    path: str = "/wechat"
    app_id: str = ""
    api_base_url: str = "https://api.weixin.qq.com"
    # A subscription-notice template for weekly reminders; empty: reminders wait on the chat
    # page as a banner. reminder_field is the template's key that carries the reminder's text.
    reminder_template_id: str = ""
    reminder_field: str = "thing1"
    token: SecretStr | None = Field(default=None, exclude=True)
    aes_key: SecretStr | None = Field(default=None, exclude=True)
    app_secret: SecretStr | None = Field(default=None, exclude=True)

    @field_validator("path")
    @classmethod
    def _path_shape(cls, value: str) -> str:
        if not _PATH.fullmatch(value) or value == "/":
            raise ValueError(N_('expected a path such as "/wechat"'))
        return value.rstrip("/")

    @field_validator("api_base_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value:
            raise ValueError(N_('expected an http(s) URL such as "https://api.weixin.qq.com"'))
        return _http_url(value, "https://api.weixin.qq.com")

    @field_validator("aes_key")
    @classmethod
    def _aes_key_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _AES_KEY.fullmatch(value.get_secret_value()):
            raise ValueError(
                f"${ENV_WECHAT_AES_KEY} must be 43 characters of A-Z, a-z, 0-9, + and /"
            )
        return value
