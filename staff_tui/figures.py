"""A window's figures for today as the server counts them (window_stats), kept current from
the live events: the window client's own window, every window on the supervisor console."""

from __future__ import annotations

from dataclasses import dataclass

from queue_protocol.messages import ServiceFinished, TicketState, WindowStat


@dataclass
class DayFigures:
    """The window's own figures for today: the server's count in the snapshot, plus the
    live events since."""

    served: int = 0  # services given here: one per one-chain step served at this window
    service_seconds: float = 0.0  # total over the services with a measured length
    timed: int = 0  # how many services `service_seconds` covers
    no_shows: int = 0

    @property
    def mean_service_seconds(self) -> float | None:
        return self.service_seconds / self.timed if self.timed else None

    @classmethod
    def from_stat(cls, stat: WindowStat | None) -> DayFigures:
        if stat is None:
            return cls()
        mean = stat.mean_service_minutes
        return cls(
            served=stat.served,
            service_seconds=(mean or 0.0) * 60 * stat.served,
            timed=stat.served if mean is not None else 0,
            no_shows=stat.no_shows,
        )


def counts_as_served(event: ServiceFinished) -> bool:
    """Whether a finished service counts in the window's "served" figure, as the server's
    window_stats counts it: every service given there (outcome done, next_step or
    chain_ended), also a one-chain step that goes on elsewhere; a transfer is not one."""
    ticket = event.ticket
    if event.chain_ended is not None or ticket.state is TicketState.DONE:
        return True
    return ticket.state is TicketState.WAITING and event.next_step is not None
