"""Waitress with a whole-request deadline: a request not fully received in time is answered 408 and its connection closed.

Waitress's idle timeout (channel_timeout) only closes a connection that sends nothing for that long,
so a client that trickles its request, one byte every few seconds, would hold its connection (and
the part of its request received so far) for as long as it likes; enough such clients fill the
connection limit and then nobody, /healthz included, can connect. `DeadlineServer` is waitress's
own TCP server with two hooks waitress offers: its `channel_class` (`DeadlineChannel`, which notes
when the request being received began) and its `maintenance(now)`, which waitress calls every
cleanup_interval seconds from its event loop and which here also answers 408 and closes every
connection whose request began more than `request_timeout_s` ago and has not been fully received.

Waitress is imported at this module's top: import it lazily (serving.web.server does, in make_server).
"""

from __future__ import annotations

import time

from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.utilities import Error


class RequestTimeout(Error):
    code = 408
    reason = "Request Timeout"


class DeadlineChannel(HTTPChannel):
    """waitress's connection, plus when the request it is receiving began (None between requests)."""

    request_began: float | None = None  # time.time() of the request's first byte
    timed_out_at: float | None = None  # when it was answered 408 (it closes once that is sent)

    def received(self, data):
        if self.request is None and data:
            self.request_began = time.time()
        result = super().received(data)
        if self.request is None:  # the request was completed (and handed to a thread), or none began
            self.request_began = None
        return result

    def is_too_slow(self, cutoff: float) -> bool:
        """A request is still being received (none is being answered) and it began before `cutoff`."""
        return self.request is not None and not self.requests and self.request_began is not None and self.request_began < cutoff

    def answer_request_timeout(self, now: float, seconds: int) -> None:
        """Drop the partial request (its buffer too), queue a 408 and close the connection once it is sent.

        Runs in the event loop's thread, which alone reads into this connection; no thread is answering it.
        """
        with self.requests_lock:
            self.request.close()
            self.request = None
            self.request_began = None
        status, headers, body = RequestTimeout(f"The request was not received within {seconds} s.").to_response(self.adj.ident)
        head = "".join(f"{name}: {value}\r\n" for name, value in [*headers, ("Content-Length", len(body)), ("Connection", "close")])
        response = f"HTTP/1.1 {status}\r\n{head}\r\n".encode("latin-1") + body
        with self.outbuf_lock:
            self.outbufs[-1].append(response)
            self.current_outbuf_count += len(response)
            self.total_outbufs_len += len(response)
        self.close_when_flushed = True  # waitress stops reading it, sends the 408, then closes it
        self.timed_out_at = now


class DeadlineServer(TcpWSGIServer):
    """waitress's TCP server whose maintenance also ends requests not fully received within `request_timeout_s`.

    Build it as waitress's create_server would for one address: `DeadlineServer(app, adj=Adjustments(**kw),
    request_timeout_s=N)`. Set adj.cleanup_interval to a fraction of N: a slow request is ended between
    N and N + cleanup_interval seconds after its first byte.
    """

    channel_class = DeadlineChannel

    def __init__(self, application, *, request_timeout_s: int, **kw):
        self.request_timeout_s = request_timeout_s
        super().__init__(application, **kw)

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # waitress's idle timeout
        cutoff = now - self.request_timeout_s
        for channel in list(self.active_channels.values()):
            if channel.timed_out_at is not None and channel.timed_out_at < now:
                channel.will_close = True  # its 408 is still unsent a round later (the client reads nothing): close it anyway
            elif channel.is_too_slow(cutoff):
                channel.answer_request_timeout(now, self.request_timeout_s)
