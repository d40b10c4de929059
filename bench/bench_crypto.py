"""Encrypted lists: seal and open 10 lists of 5,000 films, msgpack encode/decode included.

    uv run python bench/bench_crypto.py [--lists 10] [--films 5000] [--repeat 20]

Pure CPU, no database: what opening every member's list costs before candidates
are ranked, and what ``filmnight keys rotate`` costs per list (a re-wrap of the
data key; the list itself is not re-encrypted).  Times are the median of
``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.watchlists.crypto import (
    MasterKeys,
    SealedList,
    decode_list,
    encode_list,
    open_sealed,
    rewrap,
    seal,
)


def _median_ms(step: Callable[[], object], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lists", type=int, default=10)
    parser.add_argument("--films", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    count, size, repeat = args.lists, args.films, args.repeat

    keys = MasterKeys.generate("bench")
    # Catalogue ids as a grown catalogue hands them out: up to a few hundred thousand.
    lists = [[(i * 7919 + n * 37) % 400_000 + 1 for n in range(size)] for i in range(count)]
    watched = [films[: size // 5] for films in lists]
    ids = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in lists]
    plains = [encode_list(f, w) for f, w in zip(lists, watched, strict=True)]
    sealed = [
        seal(keys, plain, session_id=s, member_id=m)
        for plain, (s, m) in zip(plains, ids, strict=True)
    ]
    rotated = keys.with_new_key("bench2")

    def encode() -> list[bytes]:
        return [encode_list(f, w) for f, w in zip(lists, watched, strict=True)]

    def seal_only() -> list[SealedList]:
        return [
            seal(keys, plain, session_id=s, member_id=m)
            for plain, (s, m) in zip(plains, ids, strict=True)
        ]

    def open_only() -> list[bytes]:
        return [
            open_sealed(keys, env, session_id=s, member_id=m)
            for env, (s, m) in zip(sealed, ids, strict=True)
        ]

    def decode() -> None:
        for plain in plains:
            decode_list(plain)

    def round_trip() -> None:
        for films, seen, (s, m) in zip(lists, watched, ids, strict=True):
            envelope = seal(keys, encode_list(films, seen), session_id=s, member_id=m)
            decode_list(open_sealed(keys, envelope, session_id=s, member_id=m))

    def open_and_decode() -> None:
        for env, (s, m) in zip(sealed, ids, strict=True):
            decode_list(open_sealed(keys, env, session_id=s, member_id=m))

    def rotate() -> None:
        for env, (s, m) in zip(sealed, ids, strict=True):
            rewrap(rotated, env, session_id=s, member_id=m)

    rows = [
        ("encode (msgpack)", _median_ms(encode, repeat)),
        ("seal (new data key, AES-256-GCM, wrap)", _median_ms(seal_only, repeat)),
        ("open (unwrap, AES-256-GCM)", _median_ms(open_only, repeat)),
        ("decode (msgpack)", _median_ms(decode, repeat)),
        ("open + decode (ranking candidates)", _median_ms(open_and_decode, repeat)),
        ("encode + seal + open + decode", _median_ms(round_trip, repeat)),
        ("rewrap (keys rotate, list untouched)", _median_ms(rotate, repeat)),
    ]

    title = f"{count} lists of {size:,} films"
    width = max(len(title), *(len(name) for name, _ in rows))
    print(f"{title:<{width}} {'total ms':>9} {'per list ms':>12}")
    for name, total in rows:
        print(f"{name:<{width}} {total:>9.2f} {total / count:>12.3f}")
    envelope = sealed[0]
    print(
        f"\n(one list: {len(plains[0]):,} bytes of msgpack ({size:,} films + {size // 5:,} seen), "
        f"{len(envelope.ciphertext) + len(envelope.wrapped_key) + len(envelope.nonce):,} bytes "
        f"sealed; median of {repeat} runs)"
    )


if __name__ == "__main__":
    main()
