"""Identical reads of the moment share one answer; an old, failed or abandoned one is not kept."""

from __future__ import annotations

import asyncio

import pytest

from api.recent import RecentReads


class Source:
    """Counts the questions it answers; each answer waits until `release` is set."""

    def __init__(self) -> None:
        self.asked = 0
        self.release = asyncio.Event()
        self.fail = False

    async def answer(self) -> int:
        self.asked += 1
        await self.release.wait()
        if self.fail:
            raise RuntimeError("engine down")
        return self.asked


def test_concurrent_reads_share_one_answer_until_it_is_older_than_the_ttl() -> None:
    now = [100.0]
    recent = RecentReads(ttl=0.25, clock=lambda: now[0])

    async def scenario() -> None:
        source = Source()
        readers = [asyncio.create_task(recent.read("k", source.answer)) for _ in range(50)]
        await asyncio.sleep(0)
        source.release.set()
        assert await asyncio.gather(*readers) == [1] * 50
        assert await recent.read("k", source.answer) == 1  # still young: shared
        assert await recent.read("other", source.answer) == 2  # another question
        now[0] += 0.25
        assert await recent.read("k", source.answer) == 3  # old: asked again
        assert source.asked == 3

    asyncio.run(scenario())


def test_a_failed_read_fails_its_sharers_and_is_not_kept() -> None:
    recent = RecentReads(ttl=10.0, clock=lambda: 0.0)

    async def scenario() -> None:
        source = Source()
        source.fail = True
        readers = [asyncio.create_task(recent.read("k", source.answer)) for _ in range(3)]
        await asyncio.sleep(0)
        source.release.set()
        outcomes = await asyncio.gather(*readers, return_exceptions=True)
        assert all(isinstance(o, RuntimeError) for o in outcomes)
        source.fail = False
        assert await recent.read("k", source.answer) == 2

    asyncio.run(scenario())


def test_when_the_first_reader_goes_away_the_others_ask_again() -> None:
    recent = RecentReads(ttl=10.0, clock=lambda: 0.0)

    async def scenario() -> None:
        source = Source()
        first = asyncio.create_task(recent.read("k", source.answer))
        await asyncio.sleep(0)
        second = asyncio.create_task(recent.read("k", source.answer))
        await asyncio.sleep(0)
        first.cancel()
        await asyncio.sleep(0)
        source.release.set()
        assert await second == 2
        with pytest.raises(asyncio.CancelledError):
            await first

    asyncio.run(scenario())
