"""The arm controller: one backend + the safety shield + a control loop at a fixed rate.

``realtime=True`` runs the loop in a thread at ``control_hz`` on the wall clock (the hardware actor
on a real arm, or a twin behaving like one); each tick advances a simulated backend by one period,
reads the feedback, lets the shield latch and stops the arm on a latch or on watchdog expiry.
``step(twist)`` sends a command and returns the feedback of the next tick. ``realtime=False``
(lockstep) does the tick inside ``step`` instead: the fast path for twins and tests. Nothing here
imports Ray; ``actor.py`` wraps it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from safemeta.environments.hardware.backend import ArmBackend, Feedback, Twist
from safemeta.environments.hardware.shield import SafetyShield, ShieldConfig

MAX_EVENTS = 1000


@dataclass(frozen=True)
class StepReply:
    """What a command returns: the feedback one period later and the shield's state."""

    feedback: Feedback
    latched: str  # "" unless the shield is latched (then the reason)
    command: Twist  # the twist actually sent (after clipping; zero when refused)


@dataclass(frozen=True)
class Event:
    """A safety event: ``kind`` in ``clip``, ``watchdog_stop``, ``latch``, ``error``, ``reset``."""

    time: float
    tick: int
    kind: str
    detail: str = ""


class ArmController:
    """Owns one connected backend; every motion goes through the shield."""

    def __init__(
        self,
        backend: ArmBackend,
        *,
        control_hz: int = 20,
        shield: ShieldConfig | None = None,
        realtime: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 10 <= control_hz <= 40:
            raise ValueError(
                f"control_hz must be in 10..40 Hz (Python servoing; spec §4), got {control_hz}"
            )
        self.backend = backend
        self.period = 1.0 / control_hz
        self.shield = SafetyShield(shield or ShieldConfig(), self.period)
        self.realtime = realtime
        self.clock = clock
        self.events: list[Event] = []
        self.ticks = 0
        self._lock = threading.RLock()
        self._ticked = threading.Condition(self._lock)
        self._running = False
        self._thread: threading.Thread | None = None
        self.backend.connect()
        self.last_feedback = self.backend.feedback()

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the real-time loop (no-op in lockstep)."""
        if self.realtime and self._thread is None:
            self._running = True
            self._thread = threading.Thread(target=self._loop, name="arm-control", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop the loop and the arm; close the backend."""
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=5 * self.period + 1.0)
            self._thread = None
        with self._lock:
            self._safe_call("stop", self.backend.stop)
            self.backend.close()

    def _loop(self) -> None:
        next_tick = self.clock()
        while self._running:
            next_tick += self.period
            self.tick()
            delay = next_tick - self.clock()
            if delay > 0:
                time.sleep(delay)
            else:  # overran: do not try to catch up with a burst of ticks
                next_tick = self.clock()

    # -- the tick -------------------------------------------------------------------------------
    def _event(self, kind: str, detail: str = "") -> None:
        self.events.append(Event(self.clock(), self.ticks, kind, detail))
        del self.events[:-MAX_EVENTS]

    def _safe_call(self, what: str, function: Callable[[], object]) -> bool:
        try:
            function()
        except Exception as error:  # any backend failure stops the arm and latches
            self._event("error", f"{what}: {type(error).__name__}: {error}")
            self.shield.latch(f"error in {what}: {type(error).__name__}")
            if function != self.backend.stop:
                try:
                    self.backend.stop()
                except Exception as stop_error:
                    self._event("error", f"stop: {type(stop_error).__name__}: {stop_error}")
            return False
        return True

    def tick(self) -> Feedback:
        """One control period: advance (simulated), read, check, stop if needed."""
        with self._lock:
            if self.shield.watchdog_expired(self.clock()):  # first, so the stop acts this period
                self.shield.forget_command()
                timeout = self.shield.config.watchdog_timeout
                self._event("watchdog_stop", f"no command for > {timeout} s")
                self._safe_call("stop", self.backend.stop)
            if self.backend.simulated:
                self._safe_call("advance", lambda: self.backend.advance(self.period))
            feedback = self.last_feedback
            try:
                feedback = self.backend.feedback()
            except Exception as error:
                self._event("error", f"feedback: {type(error).__name__}: {error}")
                self.shield.latch(f"error in feedback: {type(error).__name__}")
                self._safe_call("stop", self.backend.stop)
            else:
                reason = self.shield.check(feedback)
                if reason and not self.shield.latched:
                    self.shield.latch(reason)
                    self._event("latch", reason)
                    self._safe_call("stop", self.backend.stop)
            self.last_feedback = feedback
            self.ticks += 1
            self._ticked.notify_all()
            return feedback

    # -- commands -------------------------------------------------------------------------------
    def command(self, twist: Twist) -> Twist:
        """Clip and send ``twist`` now (no wait); the zero twist if refused while latched."""
        with self._lock:
            if not self.shield.accept(self.clock()):
                return Twist.zero()
            clipped = self.shield.clip(twist, self.last_feedback)
            if not np.allclose(clipped.as_vector(), twist.as_vector()):
                self._event("clip", "twist limited to the speed limits / workspace")
            if not self._safe_call("send_twist", lambda: self.backend.send_twist(clipped)):
                return Twist.zero()
            return clipped

    def step(self, twist: Twist) -> StepReply:
        """Send ``twist`` and return the feedback of the next control tick."""
        with self._lock:
            sent = self.command(twist)
            if not self.realtime:
                self.tick()
            else:
                target = self.ticks + 1
                while self.ticks < target and self._running:
                    self._ticked.wait(timeout=10 * self.period)
            return StepReply(self.last_feedback, self.shield.latched, sent)

    def stop(self) -> None:
        with self._lock:
            self.shield.forget_command()
            self._safe_call("stop", self.backend.stop)

    def estop(self) -> None:
        """Emergency stop: the backend latches a fault, and so does the shield."""
        with self._lock:
            self.shield.latch("emergency stop")
            self._event("latch", "emergency stop")
            self._safe_call("estop", self.backend.estop)

    def reset(self, start: np.ndarray | None = None) -> Feedback:
        """The explicit reset: clear faults, go home, accept commands again.

        ``start`` (joint angles) is used by backends that can teleport (the twin's seeded episode
        starts); a real arm always runs its Home action.
        """
        with self._lock:
            self.backend.stop()
            self.backend.clear_faults()
            reset_joints = getattr(self.backend, "reset_joints", None)
            if start is not None and reset_joints is not None:
                reset_joints(np.asarray(start, dtype=float))
            else:
                self.backend.home()
            self.shield.reset()
            self._event("reset")
            self.last_feedback = self.backend.feedback()
            self.shield.check(self.last_feedback)  # prime the spill monitor's velocity history
            return self.last_feedback

    def status(self) -> dict[str, object]:
        """Latch reason, ticks, and the recent events (for logs and tests)."""
        with self._lock:
            return {
                "latched": self.shield.latched,
                "ticks": self.ticks,
                "events": list(self.events),
                "period": self.period,
            }
