"""The `make run` launcher keeps the portal up: a worker or beat that exits is started again after a
pause that doubles with each exit in a row; the web exiting stops everything. Real child processes,
a clock the test moves."""

from __future__ import annotations

import sys

import pytest

from portal.run import Child, Supervisor

EXITS_AT_ONCE = [sys.executable, "-c", "import sys; sys.exit(3)"]
RUNS_ON = [sys.executable, "-c", "import time; time.sleep(60)"]


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def supervisor_of(*children: Child, clock) -> Supervisor:
    supervisor = Supervisor(list(children), env={}, clock=clock)
    supervisor.start()
    return supervisor


def test_a_worker_that_exits_is_started_again_after_a_pause_that_doubles(clock, caplog):
    web = Child("web", RUNS_ON, restart=False)
    worker = Child("worker", EXITS_AT_ONCE, restart=True)
    supervisor = supervisor_of(web, worker, clock=clock)
    pauses = []
    try:
        for _ in range(8):
            worker.process.wait(10)
            clock.now += 0.5
            assert supervisor.check() is None
            pauses.append(worker.start_again_at - clock.now)
            clock.now = worker.start_again_at - 0.1
            supervisor.check()
            assert worker.start_again_at is not None  # not yet
            clock.now += 0.1
            supervisor.check()
            assert worker.start_again_at is None  # started again
        assert pauses == [1, 2, 4, 8, 16, 32, 60, 60]
        assert worker.starts == 9
        assert web.starts == 1 and web.process.poll() is None  # the web never noticed

        # After a long enough run, the next exit waits the first pause again.
        worker.process.wait(10)
        clock.now += 61
        supervisor.check()
        assert worker.start_again_at - clock.now == 1
    finally:
        supervisor.stop()
    messages = [r.getMessage() for r in caplog.records if r.name == "portal.run"]
    assert "worker exited with code 3 after 0 s; starting it again in 1 s" in messages
    assert any(m.startswith("worker started again (pid ") for m in messages)


def test_the_web_exiting_stops_everything(clock, caplog):
    web = Child("web", [sys.executable, "-c", "import sys; sys.exit(4)"], restart=False)
    worker = Child("worker", RUNS_ON, restart=True)
    beat = Child("beat", RUNS_ON, restart=True)
    supervisor = supervisor_of(web, worker, beat, clock=clock)
    web.process.wait(10)
    assert supervisor.run(interval=0.05) == 4
    assert worker.process.poll() is not None and beat.process.poll() is not None
    assert web.starts == 1
    assert "web exited with code 4; stopping the rest" in [r.getMessage() for r in caplog.records]


def test_stopping_ends_every_child(clock):
    worker = Child("worker", RUNS_ON, restart=True)
    supervisor = supervisor_of(Child("web", RUNS_ON, restart=False), worker, clock=clock)
    supervisor.stopping = True
    assert supervisor.run(interval=0.05) == 0
    assert all(child.process.poll() is not None for child in supervisor.children)
    assert worker.starts == 1
