"""Members' lists at rest: one AES-256-GCM envelope per member in ``fn_watchlist``.

The row holds only the key id, the wrapped data key, the nonce, the ciphertext and
a film count.  Deleting the row deletes the data key, so the list is gone at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import delete, select

from server.db.engine import DbSession
from server.db.models import WatchlistRow
from server.session_engine import utcnow
from server.watchlists.candidates import MemberList
from server.watchlists.crypto import (
    DecryptError,
    MasterKeys,
    SealedList,
    decode_list,
    encode_list,
    open_sealed,
    rewrap,
    seal,
)

__all__ = ["StoredLists", "WatchlistStore"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class StoredLists:
    """A session's readable lists, and the members whose ciphertext did not decrypt."""

    lists: dict[str, MemberList]
    unreadable: list[str]


def _sealed(row: WatchlistRow) -> SealedList:
    return SealedList(
        kid=row.kid, wrapped_key=row.wrapped_key, nonce=row.nonce, ciphertext=row.ciphertext
    )


class WatchlistStore:
    """Seals, stores, opens and destroys members' lists under the master keys."""

    def __init__(self, keys: MasterKeys) -> None:
        self.keys = keys

    async def save(
        self,
        db: DbSession,
        session_id: uuid.UUID,
        member_id: uuid.UUID,
        films: Sequence[int],
        watched: Sequence[int],
    ) -> None:
        """Replace the member's list (a new data key every time)."""
        plaintext = encode_list(films, watched)
        sealed = seal(self.keys, plaintext, session_id=str(session_id), member_id=str(member_id))
        await db.execute(delete(WatchlistRow).where(WatchlistRow.member_id == member_id))
        db.add(
            WatchlistRow(
                member_id=member_id,
                session_id=session_id,
                kid=sealed.kid,
                wrapped_key=sealed.wrapped_key,
                nonce=sealed.nonce,
                ciphertext=sealed.ciphertext,
                films=len(films),
                updated_at=utcnow(),
            )
        )
        await db.flush()

    async def load(self, db: DbSession, session_id: uuid.UUID) -> StoredLists:
        """Decrypt the session's lists; one that fails to decrypt is reported, not raised."""
        rows = (
            await db.execute(select(WatchlistRow).where(WatchlistRow.session_id == session_id))
        ).scalars()
        lists: dict[str, MemberList] = {}
        unreadable: list[str] = []
        for row in rows:
            member = str(row.member_id)
            try:
                plain = open_sealed(
                    self.keys, _sealed(row), session_id=str(session_id), member_id=member
                )
                decoded = decode_list(plain)
                lists[member] = MemberList(films=decoded.films, watched=decoded.watched)
            except (DecryptError, ValueError):
                log.warning("watchlist.unreadable")
                unreadable.append(member)
        return StoredLists(lists, sorted(unreadable))

    @staticmethod
    async def delete_member(db: DbSession, member_id: uuid.UUID) -> bool:
        result = await db.execute(delete(WatchlistRow).where(WatchlistRow.member_id == member_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    @staticmethod
    async def delete_session(db: DbSession, session_id: uuid.UUID) -> int:
        result = await db.execute(delete(WatchlistRow).where(WatchlistRow.session_id == session_id))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def rotate(self, db: DbSession) -> tuple[int, int]:
        """Re-wrap every data key under the current master key; lists are not re-encrypted.

        Returns (re-wrapped, unreadable).  An unreadable row is left as it is.
        """
        current = self.keys.current_kid
        done = failed = 0
        rows = (await db.execute(select(WatchlistRow).where(WatchlistRow.kid != current))).scalars()
        for row in rows:
            try:
                sealed = rewrap(
                    self.keys,
                    _sealed(row),
                    session_id=str(row.session_id),
                    member_id=str(row.member_id),
                )
            except DecryptError:
                failed += 1
                continue
            row.kid, row.wrapped_key = sealed.kid, sealed.wrapped_key
            done += 1
        await db.flush()
        return done, failed
