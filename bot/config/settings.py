"""One frozen, validated settings object, read from TOML once at start-up.

Secrets never live in the file: they come from the environment (an injectable mapping, so tests
pass plain dicts) and are wrapped in ``SecretStr`` so ``repr`` and logs show ``**********``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.config.durations import parse_duration
from bot.config.problems import problems_from
from bot.config.web import (
    ENV_WEB_SECRET,
    ENV_WECHAT_AES_KEY,
    ENV_WECHAT_APP_SECRET,
    ENV_WECHAT_TOKEN,
    WebSettings,
    WeChatSettings,
)
from bot.errors import ConfigError
from bot.translation import N_
from escalation.lease import RECORD_MARGIN, longest_send, shortest_lease

ENV_CONFIG = "HEARTGUARD_CONFIG"
ENV_TOKEN = "HEARTGUARD_TELEGRAM_TOKEN"  # noqa: S105 (a variable name, not a secret)
ENV_WEBHOOK_SECRET = "HEARTGUARD_TELEGRAM_WEBHOOK_SECRET"  # noqa: S105
ENV_DATA_KEY = "HEARTGUARD_DATA_KEY"
ENV_DATABASE_URL = "HEARTGUARD_DATABASE_URL"
ENV_SMTP_PASSWORD = "HEARTGUARD_SMTP_PASSWORD"  # noqa: S105 (a variable name)
ENV_WEBHOOK_SIGNING = "HEARTGUARD_WEBHOOK_SECRET"
ENV_DINGTALK_SECRET = "HEARTGUARD_DINGTALK_SECRET"  # noqa: S105

_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Priority = Literal["routine", "urgent", "emergency"]


def _parse_clock(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        try:
            hour, minute = value.strip().split(":")
            return time(int(hour), int(minute))
        except ValueError:
            pass
    raise ValueError(N_('expected a local time like "16:30"'))


Clock = Annotated[time, BeforeValidator(_parse_clock)]


def _seconds(value: timedelta) -> str:
    return f"{value.total_seconds():g}s"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DatabaseSettings(_Section):
    """Where the data lives."""

    url: str = "sqlite:///var/heartguard.db"
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        # sqlite+aiosqlite:// is what earlier versions wrote; it means the same database.
        # A plain postgresql:// (as psql and most hosts write it) means the asyncpg driver.
        value = value.strip()
        for plain in ("postgresql://", "postgres://"):
            if value.startswith(plain):
                value = "postgresql+asyncpg://" + value.removeprefix(plain)
        if not value.startswith(("sqlite://", "sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                N_(
                    'expected a URL starting with "sqlite:///" (a file) or "postgresql://", '
                    "e.g. postgresql://heartguard@db.internal/heartguard"
                )
            )
        return value


class TelegramSettings(_Section):
    """How the bot reaches Telegram. The token comes from HEARTGUARD_TELEGRAM_TOKEN."""

    mode: Literal["polling", "webhook"] = "polling"
    base_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_path: str = "/telegram"
    webhook_public_url: str = ""
    counselor_groups: tuple[int, ...] = ()
    # Per-student flood control: this many messages are answered at once, then one more per
    # flood_interval. Every message is still stored and read; only replies are merged.
    flood_burst: int = Field(default=5, ge=1, le=100)
    flood_interval: Duration = timedelta(seconds=1)
    token: SecretStr | None = Field(default=None, exclude=True)
    webhook_secret: SecretStr | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> TelegramSettings:
        if self.mode == "webhook" and not self.webhook_public_url:
            raise ValueError(N_("webhook mode needs webhook_public_url"))
        return self

    @field_validator("webhook_secret")
    @classmethod
    def _secret_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's rule for secret_token; checked here so a bad one fails at start-up.
        if value is not None and not _SECRET_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError(
                f"${ENV_WEBHOOK_SECRET} must be 1-256 characters: A-Z, a-z, 0-9, _ and -"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(N_('expected an http(s) URL such as "http://127.0.0.1:8081/bot"'))
        return value


class PrivacySettings(_Section):
    """Encryption at rest, retention and how much student text may leave the database."""

    allow_generated_key: bool = True
    key_file: str = "var/data.key"
    safety_record_retention_days: int = Field(default=1095, ge=0)
    alert_quote_chars: int = Field(default=0, ge=0, le=200)
    allow_anonymous: bool = False


class InstrumentBand(_Section):
    """Which screening instrument a grade range gets."""

    min_grade: int = Field(ge=1, le=12)
    max_grade: int = Field(ge=1, le=12)
    instrument: Literal["phq_gad", "mood_check"]


class SchoolSettings(_Section):
    """District-wide defaults for schools."""

    default_timezone: str = "Asia/Shanghai"
    guardian_consent_age: int = Field(default=14, ge=0, le=18)
    enrollment_code_ttl: Duration = timedelta(days=30)
    instruments: tuple[InstrumentBand, ...] = (
        InstrumentBand(min_grade=3, max_grade=6, instrument="mood_check"),
        InstrumentBand(min_grade=7, max_grade=12, instrument="phq_gad"),
    )

    @field_validator("instruments")
    @classmethod
    def _no_overlap(cls, value: tuple[InstrumentBand, ...]) -> tuple[InstrumentBand, ...]:
        seen: set[int] = set()
        for band in value:
            if band.min_grade > band.max_grade:
                raise ValueError(N_("min_grade is above max_grade"))
            grades = set(range(band.min_grade, band.max_grade + 1))
            if grades & seen:
                raise ValueError(N_("grade bands overlap"))
            seen |= grades
        return value

    @field_validator("default_timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(N_('expected an IANA time zone like "Asia/Shanghai"')) from None
        return value


class EscalationStep(_Section):
    """Tiers alerted together, and how long to wait for an acknowledgement."""

    tiers: tuple[Literal["school", "district", "hospital"], ...] = Field(min_length=1)
    ack_timeout: Duration


class EscalationPolicy(_Section):
    """An ordered chain for one priority."""

    steps: tuple[EscalationStep, ...] = Field(min_length=1)
    repeat: int = Field(default=0, ge=0, le=100)


def _default_policies() -> dict[Priority, EscalationPolicy]:
    def step(tiers: tuple[Any, ...], timeout: str) -> EscalationStep:
        return EscalationStep(tiers=tiers, ack_timeout=parse_duration(timeout))

    return {
        "emergency": EscalationPolicy(
            steps=(step(("school", "district", "hospital"), "5m"),), repeat=12
        ),
        "urgent": EscalationPolicy(
            steps=(
                step(("school",), "10m"),
                step(("district",), "10m"),
                step(("hospital",), "10m"),
            ),
            repeat=3,
        ),
        "routine": EscalationPolicy(
            steps=(step(("school",), "1d"), step(("district",), "1d")), repeat=0
        ),
    }


class EmailSettings(_Section):
    """SMTP for e-mail alerts. The password comes from HEARTGUARD_SMTP_PASSWORD."""

    host: str = ""
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    sender: str = "heartguard@localhost"
    timeout: Duration = timedelta(seconds=10)
    password: SecretStr | None = Field(default=None, exclude=True)


class ShiftSettings(_Section):
    """A weekly duty shift declared in the config file (local school time)."""

    counselor: int = Field(ge=1)
    tier: Literal["school", "district"]
    school: str = ""
    days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = Field(
        default=("mon", "tue", "wed", "thu", "fri"), min_length=1
    )
    start: Clock = time(8, 0)
    end: Clock = time(17, 0)

    @model_validator(mode="after")
    def _school_tier_needs_school(self) -> ShiftSettings:
        if self.tier == "school" and not self.school:
            raise ValueError(N_("a school-tier shift needs school (the school code)"))
        if self.start == self.end:
            raise ValueError(N_("start and end are the same time"))
        return self


class EscalationSettings(_Section):
    """The green channel's chains, timers and auditor."""

    shifts: tuple[ShiftSettings, ...] = ()

    tick_interval: Duration = timedelta(seconds=5)
    audit_interval: Duration = timedelta(minutes=1)
    email: EmailSettings = EmailSettings()
    webhook_timeout: Duration = timedelta(seconds=10)
    # After the timeouts it is checked against (a validator sees the fields before it).
    notification_lease: Duration = timedelta(seconds=60)
    webhook_secret: SecretStr | None = Field(default=None, exclude=True)
    dingtalk_secret: SecretStr | None = Field(default=None, exclude=True)
    emergency_ack_expiry: Duration = timedelta(minutes=30)
    heartbeat_url: str = ""
    policies: dict[Priority, EscalationPolicy] = Field(default_factory=_default_policies)

    @field_validator("notification_lease")
    @classmethod
    def _lease_outlasts_sends(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        # A lease that ends mid-send lets a second worker claim the row and send it again.
        email, webhook = info.data.get("email"), info.data.get("webhook_timeout")
        if email is None or webhook is None:
            return value  # already reported
        timeouts = (email.timeout, webhook)
        shortest = shortest_lease(timeouts)
        if value < shortest:
            raise ValueError(
                f"{_seconds(value)} is shorter than the longest send "
                f"({_seconds(longest_send(timeouts))}: the longest of email.timeout and "
                f"webhook_timeout) plus {_seconds(RECORD_MARGIN)} to record it; "
                f"use at least {_seconds(shortest)}"
            )
        return value

    @field_validator("policies", mode="before")
    @classmethod
    def _fill_missing(cls, value: object) -> object:
        # A file that tunes one priority keeps the defaults for the others.
        if isinstance(value, dict):
            return {**_default_policies(), **value}
        return value


class TermDates(_Section):
    """A school term: reminders go out only inside one."""

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> TermDates:
        if self.end < self.start:
            raise ValueError(N_("term end is before its start"))
        return self


class ReminderSettings(_Section):
    """Weekly check-in reminders, nudges and caring contacts."""

    enabled: bool = True
    default_weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "fri"
    default_time: Clock = time(16, 30)
    quiet_start: Clock = time(21, 30)
    quiet_end: Clock = time(7, 0)
    follow_up_after: Duration = timedelta(hours=24)
    caring_contact_days: tuple[int, ...] = (1, 3, 7, 14, 28)
    missed_checkins_alert: int = Field(default=2, ge=1)
    recent_case_window: Duration = timedelta(days=60)
    terms: tuple[TermDates, ...] = ()
    holidays: tuple[date, ...] = ()

    @field_validator("caring_contact_days")
    @classmethod
    def _positive_days(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(day <= 0 for day in value):
            raise ValueError(N_("expected positive day numbers like [1, 3, 7]"))
        return tuple(sorted(set(value)))


LineUse = Literal["police", "ambulance", "talk"]
# The national emergency numbers, when a file lists them without saying what they are for.
_KNOWN_USES: dict[str, LineUse] = {"110": "police", "120": "ambulance"}


def _parse_weekly_at(value: object) -> str:
    # "mon 08:00": a weekday as the roster spells it and a local time.
    if isinstance(value, str):
        parts = value.strip().lower().split()
        if len(parts) == 2 and parts[0] in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
            clock = _parse_clock(parts[1])
            return f"{parts[0]} {clock:%H:%M}"
    raise ValueError(N_('expected a weekday and a local time like "mon 08:00"'))


class ReportSettings(_Section):
    """The student file, the watch list and the weekly reports."""

    # Aggregates of fewer students than this are suppressed in school and grade breakdowns.
    min_cell: int = Field(default=10, ge=2, le=1000)
    # When `run` e-mails last week's reports: a weekday and a local time (school time zone).
    weekly_at: Annotated[str, BeforeValidator(_parse_weekly_at)] = "mon 08:00"
    # An open case untouched this long is an overdue follow-up; a referral open this long
    # without being closed is an overdue referral.
    follow_up_due: Duration = timedelta(days=7)
    referral_due: Duration = timedelta(days=14)
    # The watch list: a PHQ-9 or GAD-7 rise of at least watch_rise points between consecutive
    # check-ins or within watch_rise_window, ending within watch_recent; watch_missed weekly
    # reminders unanswered after a positive ASQ within asq_window.
    watch_rise: int = Field(default=5, ge=1, le=27)
    watch_rise_window: Duration = timedelta(days=28)
    watch_recent: Duration = timedelta(days=28)
    watch_missed: int = Field(default=2, ge=1, le=52)
    asq_window: Duration = timedelta(days=90)
    # Headless Chromium prints the PDF reports (Debian's chromium; never fetched at run time).
    chromium: str = "/usr/bin/chromium"

    @property
    def weekly_slot(self) -> tuple[int, time]:
        """The weekday (Monday is 0) and local time of the weekly delivery."""
        day, clock = self.weekly_at.split()
        days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        return days.index(day), _parse_clock(clock)


class CrisisLine(_Section):
    """A phone line shown to students: its number, what it is for, and when it answers.

    ``use`` says when the bot points to it: ``police`` and ``ambulance`` for danger now (the
    first of each is what "call now" texts name), ``talk`` for someone to talk to. Hours are
    shown exactly as written here, so a line is never said to answer around the clock unless
    the file says so.
    """

    number: str = Field(min_length=2)
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    use: LineUse | None = None
    purpose_zh: str = ""
    purpose_en: str = ""
    hours: str = ""
    hours_zh: str = ""
    hours_en: str = ""

    @model_validator(mode="before")
    @classmethod
    def _fill_in(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if data.get("use") is None and isinstance(data.get("number"), str):
            data["use"] = _KNOWN_USES.get(data["number"], "talk")
        # "hours" is the older single-language spelling; it fills whichever language is unset.
        hours = data.get("hours")
        if isinstance(hours, str) and hours:
            data.setdefault("hours_zh", hours)
            data.setdefault("hours_en", hours)
        return data

    @model_validator(mode="after")
    def _hours_given(self) -> CrisisLine:
        if not (self.hours_zh and self.hours_en):
            raise ValueError(
                f"line {self.number}: say when it answers in both languages "
                '(hours_zh = "每天至少 18 小时", hours_en = "at least 18 hours a day")'
            )
        return self

    @property
    def role(self) -> LineUse:
        """What the line is for (never unset after validation)."""
        return self.use or "talk"


def _default_lines() -> tuple[CrisisLine, ...]:
    # 110 and 120 are the national emergency numbers. 12356 is the national mental-health
    # line, which the National Health Commission requires to answer at least 18 hours a day
    # (not necessarily 24); 12355 is the Communist Youth League's youth line (psychological
    # and legal help), whose hours differ from place to place: a district fills in its own.
    return (
        CrisisLine(
            number="110",
            name_zh="报警",
            name_en="Police",
            use="police",
            purpose_zh="有危险，或者有人正在伤害你",
            purpose_en="if you are in danger or someone is hurting you",
            hours_zh="24 小时",
            hours_en="24 hours",
        ),
        CrisisLine(
            number="120",
            name_zh="急救",
            name_en="Ambulance",
            use="ambulance",
            purpose_zh="受伤了、吃了药，或者身体出了急事",
            purpose_en="if you are hurt, took something, or need a doctor now",
            hours_zh="24 小时",
            hours_en="24 hours",
        ),
        CrisisLine(
            number="12356",
            name_zh="全国心理援助热线",
            name_en="National mental health line",
            use="talk",
            purpose_zh="心里难受，想找人说说",
            purpose_en="to talk to someone when things feel too much",
            hours_zh="每天至少 18 小时",
            hours_en="at least 18 hours a day",
        ),
        CrisisLine(
            number="12355",
            name_zh="青少年服务台",
            name_en="Youth helpline",
            use="talk",
            purpose_zh="心理和法律上的帮助，比如被欺负、被打",
            purpose_en="help with feelings and legal help, e.g. bullying or being hurt",
            hours_zh="各地时间不同",
            hours_en="hours differ by area",
        ),
    )


class CrisisResourceSettings(_Section):
    """The lines students are shown: danger-now lines first, then lines to talk to."""

    lines: tuple[CrisisLine, ...] = Field(default_factory=_default_lines, min_length=1)

    @model_validator(mode="after")
    def _every_use_has_a_line(self) -> CrisisResourceSettings:
        # Texts say "call {police} now", "{ambulance} if you took something" and name a line
        # to talk to: each needs a number.
        uses: tuple[LineUse, ...] = ("police", "ambulance", "talk")
        missing = [use for use in uses if not self.of(use)]
        if missing:
            raise ValueError("needs a line with use = " + " and one with use = ".join(missing))
        return self

    def of(self, use: LineUse) -> tuple[CrisisLine, ...]:
        """The lines for one use, in the configured order."""
        return tuple(line for line in self.lines if line.role == use)


class TakeoverSettings(_Section):
    """A counselor holding a student's chat: how long the student may wait for an answer."""

    # Past this, the counselor and the tier above are paged again; past it once more, the
    # bot takes the chat back and shows the crisis lines.
    quiet_after: Duration = timedelta(minutes=5)

    @field_validator("quiet_after")
    @classmethod
    def _sensible(cls, value: timedelta) -> timedelta:
        if not timedelta(minutes=1) <= value <= timedelta(hours=2):
            raise ValueError(N_('expected a duration from "1m" to "2h", such as "5m"'))
        return value


class AccessSettings(_Section):
    """Counselors' console sign-in and the integration API's tokens."""

    token_ttl: Duration = timedelta(days=30)
    # Failed sign-ins, per counselor and per source address, within login_window, before
    # sign-in is refused for lockout (even with the right password).
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_window: Duration = timedelta(minutes=15)
    lockout: Duration = timedelta(minutes=15)


class LoggingSettings(_Section):
    """Log verbosity. Logs carry ids, never student text."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(_Section):
    """Everything HeartGuard is configured with."""

    database: DatabaseSettings = DatabaseSettings()
    telegram: TelegramSettings = TelegramSettings()
    privacy: PrivacySettings = PrivacySettings()
    schools: SchoolSettings = SchoolSettings()
    escalation: EscalationSettings = EscalationSettings()
    reminders: ReminderSettings = ReminderSettings()
    reports: ReportSettings = ReportSettings()
    crisis_resources: CrisisResourceSettings = CrisisResourceSettings()
    takeover: TakeoverSettings = TakeoverSettings()
    access: AccessSettings = AccessSettings()
    logging: LoggingSettings = LoggingSettings()
    web: WebSettings = WebSettings()
    wechat: WeChatSettings = WeChatSettings()
    data_keys: tuple[SecretStr, ...] = Field(default=(), exclude=True)
    source: str = Field(default="<defaults>", exclude=True)

    def cross_problems(self) -> list[str]:
        """Problems between sections, as ``key: what is wrong`` (one per line)."""
        problems = []
        # The callback and the chat page its replies link to are served by the web server.
        if self.wechat.enabled:
            if not self.web.enabled:
                problems.append("wechat.enabled: needs web.enabled (the web server serves it)")
            if not self.web.public_url:
                problems.append("wechat.enabled: needs web.public_url (its replies link there)")
            if not self.wechat.app_id:
                problems.append("wechat.app_id: required when wechat.enabled")
        return problems


def _secrets(environ: Mapping[str, str]) -> dict[str, Any]:
    def secret(name: str) -> SecretStr | None:
        value = environ.get(name, "").strip()
        return SecretStr(value) if value else None

    keys = tuple(
        SecretStr(part.strip()) for part in environ.get(ENV_DATA_KEY, "").split(",") if part.strip()
    )
    return {
        "token": secret(ENV_TOKEN),
        "webhook_secret": secret(ENV_WEBHOOK_SECRET),
        "data_keys": keys,
        "smtp_password": secret(ENV_SMTP_PASSWORD),
        "signing_secret": secret(ENV_WEBHOOK_SIGNING),
        "dingtalk_secret": secret(ENV_DINGTALK_SECRET),
        "web_secret": secret(ENV_WEB_SECRET),
        "wechat_token": secret(ENV_WECHAT_TOKEN),
        "wechat_aes_key": secret(ENV_WECHAT_AES_KEY),
        "wechat_app_secret": secret(ENV_WECHAT_APP_SECRET),
    }


_FILE_FORBIDDEN = {
    ("telegram", "token"): ENV_TOKEN,
    ("telegram", "webhook_secret"): ENV_WEBHOOK_SECRET,
    ("escalation", "email", "password"): ENV_SMTP_PASSWORD,
    ("escalation", "webhook_secret"): ENV_WEBHOOK_SIGNING,
    ("escalation", "dingtalk_secret"): ENV_DINGTALK_SECRET,
    ("web", "secret"): ENV_WEB_SECRET,
    ("wechat", "token"): ENV_WECHAT_TOKEN,
    ("wechat", "aes_key"): ENV_WECHAT_AES_KEY,
    ("wechat", "app_secret"): ENV_WECHAT_APP_SECRET,
    ("data_keys",): ENV_DATA_KEY,
    ("source",): "",
}


def _secrets_in_file(raw: Mapping[str, Any], source: str) -> list[str]:
    found = []
    for path, env_name in _FILE_FORBIDDEN.items():
        node: Any = raw
        for part in path:
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is not None:
            key = ".".join(path)
            why = (
                f"secrets are read from ${env_name}, never from the file"
                if env_name
                else ("unknown key")
            )
            found.append(f"{source}: {key}: {why}")
    database = raw.get("database")
    url = database.get("url") if isinstance(database, Mapping) else None
    if isinstance(url, str) and database_password(url):
        found.append(
            f"{source}: database.url: has a password; secrets are read from "
            f"${ENV_DATABASE_URL}, never from the file"
        )
    return found


def database_password(url: str) -> str | None:
    """The password in a database URL, if it carries one."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return None
    userinfo, at, _host = netloc.rpartition("@")
    _user, colon, password = userinfo.partition(":")
    return unquote(password) if at and colon and password else None


def settings_from_mapping(
    data: Mapping[str, Any], *, source: str, environ: Mapping[str, str] | None = None
) -> Settings:
    """Validate a parsed TOML mapping and merge in secrets from the environment.

    Raises:
        ConfigError: with one line per problem.
    """
    env = os.environ if environ is None else environ
    raw = dict(data)
    refused = _secrets_in_file(raw, source)
    if refused:
        raise ConfigError(refused)
    secrets = _secrets(env)
    telegram = dict(raw.get("telegram", {})) if isinstance(raw.get("telegram"), dict) else None
    if telegram is not None:
        telegram["token"] = secrets["token"]
        telegram["webhook_secret"] = secrets["webhook_secret"]
        raw["telegram"] = telegram
    elif "telegram" not in raw:
        raw["telegram"] = {"token": secrets["token"], "webhook_secret": secrets["webhook_secret"]}
    env_url = bool(env.get(ENV_DATABASE_URL, "").strip())
    if env_url and isinstance(raw.get("database", {}), dict):
        raw["database"] = {**raw.get("database", {}), "url": env[ENV_DATABASE_URL].strip()}
    escalation = raw.get("escalation", {})
    if isinstance(escalation, dict):
        escalation = dict(escalation)
        email = escalation.get("email", {})
        if isinstance(email, dict):
            escalation["email"] = {**email, "password": secrets["smtp_password"]}
        escalation["webhook_secret"] = secrets["signing_secret"]
        escalation["dingtalk_secret"] = secrets["dingtalk_secret"]
        raw["escalation"] = escalation
    for section, fields in (
        ("web", {"secret": "web_secret"}),
        (
            "wechat",
            {
                "token": "wechat_token",
                "aes_key": "wechat_aes_key",
                "app_secret": "wechat_app_secret",
            },
        ),
    ):
        part = raw.get(section, {})
        if isinstance(part, dict):
            raw[section] = {**part, **{key: secrets[name] for key, name in fields.items()}}
    raw["data_keys"] = secrets["data_keys"]
    raw["source"] = source
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        from_env: dict[tuple[str, ...], str] = {("database", "url"): ENV_DATABASE_URL}
        raise ConfigError(problems_from(exc, source, from_env if env_url else None)) from None
    crossed = settings.cross_problems()
    if crossed:
        raise ConfigError([f"{source}: {line}" for line in crossed])
    return settings


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file, turning every failure into a ConfigError naming the file."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{path}: is a directory, expected a TOML file"]) from None
    except PermissionError:
        raise ConfigError([f"{path}: permission denied"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: invalid TOML: {exc}"]) from None


def resolve_config_path(explicit: str | None, environ: Mapping[str, str]) -> Path | None:
    """``--config``, else ``$HEARTGUARD_CONFIG``, else ``./config.toml``, else built-in defaults."""
    if explicit:
        return Path(explicit)
    if environ.get(ENV_CONFIG, "").strip():
        return Path(environ[ENV_CONFIG].strip())
    local = Path("config.toml")
    return local if local.exists() else None


def load_settings(path: Path | None, environ: Mapping[str, str] | None = None) -> Settings:
    """Load settings from ``path``, or the built-in defaults when it is None.

    Relative file paths in a config file (a SQLite database, the generated key) are taken from
    the file's folder, so ``--config /srv/hg/config.toml`` run from anywhere finds the same data.
    """
    if path is None:
        return settings_from_mapping({}, source="<defaults>", environ=environ)
    settings = settings_from_mapping(read_toml(path), source=str(path), environ=environ)
    env = os.environ if environ is None else environ
    return beside(settings, path.parent, database=not env.get(ENV_DATABASE_URL, "").strip())


def beside(settings: Settings, folder: Path, *, database: bool = True) -> Settings:
    """Settings whose relative file paths are taken from ``folder`` (the config file's)."""
    if folder == Path():
        return settings
    key_file, secret_file = Path(settings.privacy.key_file), Path(settings.web.secret_file)
    update: dict[str, Any] = {}
    if not key_file.is_absolute():
        privacy = settings.privacy.model_copy(update={"key_file": str(folder / key_file)})
        update["privacy"] = privacy
    if not secret_file.is_absolute():
        web = settings.web.model_copy(update={"secret_file": str(folder / secret_file)})
        update["web"] = web
    url = settings.database.url
    scheme, sep, rest = url.partition(":///")
    if (
        database
        and scheme.startswith("sqlite")
        and sep
        and rest
        and not rest.startswith(("/", ":memory:", "file:"))
    ):
        located = f"{scheme}:///{folder / rest}"
        update["database"] = settings.database.model_copy(update={"url": located})
    return settings.model_copy(update=update) if update else settings
