"""Who may see which student's file, which report and which named export.

The same scope rule as the case queue: an administrator at the command line and a
district-scope counselor see every school ("the district role"); a school counselor sees only
their schools, and never an anonymous student (those are the district team's). Named exports
(a file as JSON or HTML, a watch list as JSON, feedback with the students' words) need the
district role. Every refusal is audited by the caller, like every view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.actions import Actor, NotAllowedError
from storage.audit import audit
from storage.models import Counselor, CounselorSchool


@dataclass(frozen=True)
class Viewer:
    """The person looking, with their scope."""

    actor: Actor
    district: bool
    schools: frozenset[int]

    @property
    def is_counselor(self) -> bool:
        """A counselor (only a counselor reads a safety plan), not an administrator."""
        return self.actor.counselor_id is not None

    def covers(self, school_id: int | None) -> bool:
        """Whether a student of this school (None: anonymous) is in the viewer's scope."""
        return self.district or (school_id is not None and school_id in self.schools)


async def viewer_for(session: AsyncSession, actor: Actor) -> Viewer:
    """The viewer behind an actor.

    Raises:
        NotAllowedError: an unknown or inactive counselor.
    """
    if actor.counselor_id is None:
        return Viewer(actor, district=True, schools=frozenset())
    counselor = await session.get(Counselor, actor.counselor_id)
    if counselor is None or not counselor.active:
        raise NotAllowedError(f"no active counselor #{actor.counselor_id}")
    schools = await session.scalars(
        select(CounselorSchool.school_id).where(CounselorSchool.counselor_id == counselor.id)
    )
    return Viewer(actor, district=counselor.scope == "district", schools=frozenset(schools))


def refuse(
    session: AsyncSession,
    viewer: Viewer | Actor,
    *,
    now: datetime,
    attempted: str,
    subject_type: str,
    subject_id: object,
    why: str,
) -> NotAllowedError:
    """Record a refused view or export and return the error to raise (after the commit)."""
    actor = viewer.actor if isinstance(viewer, Viewer) else viewer
    audit(
        session,
        now=now,
        actor=actor.label,
        action="refused",
        subject_type=subject_type,
        subject_id=subject_id,
        attempted=attempted,
        why=why,
    )
    return NotAllowedError(why)
