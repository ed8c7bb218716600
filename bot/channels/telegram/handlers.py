"""Which handler gets which update: groups, counselors, students, buttons, errors."""

from __future__ import annotations

from collections.abc import Iterable

from telegram import MessageEntity, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.channels.telegram.callbacks import COUNSELOR, STUDENT
from bot.channels.telegram.counselor import CounselorDesk
from bot.channels.telegram.duty import DutyDesk
from bot.channels.telegram.errors import ErrorHandler
from bot.channels.telegram.student import StudentChannel
from bot.channels.telegram.takeover import TakeoverDesk
from bot.channels.telegram.texts import Texts, language_of

ALLOWED_UPDATES = ("message", "edited_message", "callback_query")


class PrivateRouter:
    """A private chat is a counselor's when their linked contact says so; else a student's."""

    def __init__(
        self, students: StudentChannel, desk: CounselorDesk, takeover: TakeoverDesk
    ) -> None:
        self.students = students
        self.desk = desk
        self.takeover = takeover

    async def on_private(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Route one private message."""
        chat = update.effective_chat
        if chat is None:
            return
        who = await self.desk.who(chat.id)
        if who is not None:
            message = update.message
            # A reply to a relayed student message goes to that student.
            if message is not None and await self.takeover.on_reply_to(update, who, message):
                return
            await self.desk.on_chat(update, context, who)
            return
        await self.students.on_message(update, context)


class ForeignPress:
    """A press whose data is not ours (crafted, or from an older version of the bot)."""

    def __init__(self, texts: Texts) -> None:
        self.texts = texts

    async def __call__(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer it so the client stops waiting, and do nothing else."""
        query = update.callback_query
        if query is not None:
            language = language_of(query.from_user.language_code)
            await query.answer(self.texts.student("foreign_button", language))


def install(
    application: Application,  # type: ignore[type-arg]
    *,
    students: StudentChannel,
    desk: CounselorDesk,
    duty: DutyDesk,
    takeover: TakeoverDesk,
    errors: ErrorHandler,
    texts: Texts,
    counselor_groups: Iterable[int] = (),
) -> None:
    """Register every handler on the application, in priority order."""
    private = filters.ChatType.PRIVATE
    new_message = filters.UpdateType.MESSAGE
    groups: filters.BaseFilter = filters.ChatType.GROUPS
    desks: filters.BaseFilter = private
    registered = tuple(counselor_groups)
    if registered:
        # In a registered counselor group the counselor commands work for linked counselors;
        # nothing else is answered there (students are never sent to one).
        counselors_group = filters.ChatType.GROUPS & filters.Chat(chat_id=registered)
        groups = groups & ~filters.Chat(chat_id=registered)
        desks = private | counselors_group
    addressed = filters.COMMAND | filters.Entity(MessageEntity.MENTION)
    application.add_handler(MessageHandler(groups & new_message & addressed, students.on_group))
    for name, callback in (
        ("link", desk.on_link),
        ("queue", desk.on_queue),
        ("case", desk.on_case),
        ("note", desk.on_note),
        ("duty", duty.on_duty),
        ("take", takeover.on_take),
        ("reply", takeover.on_reply),
        ("handback", takeover.on_handback),
        ("transfer", takeover.on_transfer),
    ):
        application.add_handler(CommandHandler(name, callback, filters=desks & new_message))
    application.add_handler(CallbackQueryHandler(desk.on_press, pattern=f"^{COUNSELOR}:"))
    application.add_handler(CallbackQueryHandler(students.on_press, pattern=f"^{STUDENT}:"))
    application.add_handler(CallbackQueryHandler(ForeignPress(texts)))
    router = PrivateRouter(students, desk, takeover)
    application.add_handler(
        MessageHandler(private & filters.UpdateType.MESSAGES, router.on_private)
    )
    application.add_error_handler(errors)
