"""The zygote: the process that forks the cases' first processes, so that the executor never
forks after its start.

Forking costs the process that forks more than the fork: until its child is gone, every page
either of them writes is copied on the first write. The executor writes all the time (it
parses, resolves and judges every case), and a spare first process lives as long as the
case after it; measured here, a forked Python that goes on working pays about 220 such
faults and 1.3 ms of CPU per fork, on top of the fork itself. The zygote is forked from the
executor once, before the first case, and does nothing between two forks, so its pages
stay shared and clean; the executor's faults go with it.

The zygote is a child subreaper: a first process is its child, and the processes of a
case whose first process died come back to it, not to the executor. Nobody reaps them but
the zygote, and it reaps only when the executor says so (reap), after the case's segments
are removed, so that no pid of a case is reused before then (hygiene.remove_segments). It
dies with the executor (PR_SET_PDEATHSIG, and end-of-file on its socket), its first
processes with it; the processes of a case then come back to the executor, a subreaper too,
which reaps them itself (hygiene.reap_case) when the zygote cannot. SIGINT and SIGTERM are
ignored here: an interrupt from the terminal reaches the executor's whole process group,
and the zygote must outlive the executor's clean-up.

Requests and replies are marshal messages on a SOCK_SEQPACKET socket pair, one message each
(the case ends of a first process's pipes go with its request, as SCM_RIGHTS); replies come
in the order of the requests, so the executor may send one (start) and read its reply later
(Zygote.result), while the fork is made on the other core.
"""
import marshal
import os
import signal
import socket

from . import features, hygiene, processes, worker

MAX_FDS = 250           # descriptors per message (the kernel's SCM_MAX_FD is 253); a first
                        # process made to measure may have more case ends: they go in parts
MESSAGE = 65536
ANSWER_SECONDS = 30     # a zygote that takes longer to answer is taken for dead


class ZygoteGone(OSError):
    """The zygote died (or could not be started); a new one is started for the next request."""


class Zygote:
    """The executor's end: start(request) sends a request, result(ticket) waits for its reply.
    A ticket names the zygote it was sent to: a zygote started anew (after the last one died)
    has never heard of the last one's tickets.

    Every first process forked is a process group to reap, and stays one until it is reaped
    (groups), so that its pid cannot be reused while the executor may still signal its group
    or remove the segments its processes made. Its owner (the case, or the spare that no
    case used) has it reaped (reap) once that is over: by the zygote that forked it, or, if
    that zygote died (lost), here, where its processes came back to."""

    def __init__(self):
        self.pid = None
        self.pidfd = None
        self.sock = None
        self.generation = 0
        self.sent = 0           # requests sent to this zygote, replies read from it
        self.read = 0
        self.replies = {}       # ticket -> reply, read while waiting for an earlier one
        self.groups = {}        # process group not reaped yet -> the zygote (generation) it is of
        self.reaping = {}       # ticket -> the process group that request reaps

    def start(self, message, fds=(), replace=True):
        """Send a request; returns its ticket. ZygoteGone if no zygote can be reached (one that
        died is replaced once, unless replace is False)."""
        if not features.has("scm_rights"):
            return self.serve_here(message, fds)
        for attempt in (1, 2):
            if self.sock is None and not replace:
                raise ZygoteGone(0, "the zygote is gone")
            if self.sock is None:
                self.launch()
            try:
                parts = [fds[i:i + MAX_FDS] for i in range(0, len(fds), MAX_FDS)] or [[]]
                for part in parts[:-1]:
                    self.send({"op": "more"}, part)
                self.send(message, parts[-1])
                break
            except OSError as error:
                self.lost()
                if attempt == 2 or not replace:
                    raise ZygoteGone(error.errno, "the zygote is gone: %s" % error)
        self.sent += 1
        return (self.generation, self.sent)

    def serve_here(self, message, fds):
        """Without SCM_RIGHTS (features.py) no descriptor can reach a zygote, so there is none:
        a request is served here at once, its reply kept for its ticket. A first process is
        forked from this executor (a plain fork, paying the copy-on-write faults the zygote
        spares it), a group reaped here (its processes are this subreaper's)."""
        self.sent += 1
        ticket = (self.generation, self.sent)
        if message["op"] == "fork":
            blocked = {signal.SIGINT, signal.SIGTERM}
            mask = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
            try:
                reply = fork_first(message, list(fds), None)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            if "pid" in reply:
                self.groups[reply["pid"]] = self.generation
            self.replies[ticket] = reply
        else:
            self.reap_here(message["pgid"])
        return ticket

    def is_current(self, generation):
        """Whether the zygote of that generation is the one running (without one, this
        executor: always)."""
        return generation == self.generation and (
            self.sock is not None or not features.has("scm_rights"))

    def send(self, message, fds):
        ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, _fd_bytes(fds))] if fds else []
        self.sock.sendmsg([marshal.dumps(message)], ancillary)

    def result(self, ticket):
        """The reply to a request (a dict); ZygoteGone if the zygote died before replying."""
        while ticket not in self.replies:
            if self.sock is None or ticket[0] != self.generation or self.read >= self.sent:
                raise ZygoteGone(0, "the zygote is gone")
            try:
                data = self.sock.recv(MESSAGE)
                reason = "end of file"
            except TimeoutError:
                data, reason = b"", "no answer in %d s" % ANSWER_SECONDS
            except InterruptedError:
                continue
            except OSError as error:
                data, reason = b"", error
            if not data:
                self.lost()
                raise ZygoteGone(0, "the zygote is gone: %s" % reason)
            reply = self.took(data)
            if reply is not None:
                self.replies[(self.generation, self.read)] = reply
        return self.replies.pop(ticket)

    def took(self, data):
        """A reply read: the first process it names is a group to reap from now on; the group
        it says reaped is not."""
        self.read += 1
        reply = marshal.loads(data)
        if "pid" in reply:
            self.groups[reply["pid"]] = self.generation
        reaped = self.reaping.pop((self.generation, self.read), None)
        if reaped is not None:
            self.groups.pop(reaped, None)
            return None           # nobody waits for it
        return reply

    def drain(self, seconds):
        """Read the replies still to come, waiting at most `seconds` for each, and keep them
        for the tickets they answer: a first process forked is one to reap even when the
        zygote died before its owner asked for its pid."""
        self.sock.settimeout(seconds)
        while self.read < self.sent:
            try:
                data = self.sock.recv(MESSAGE)
            except InterruptedError:
                continue
            except OSError:
                return
            if not data:
                return
            reply = self.took(data)
            if reply is not None:
                self.replies[(self.generation, self.read)] = reply

    def reap(self, pgid):
        """Have every process of a case's group reaped (see hygiene.reap_case): by the zygote
        that forked its first process, without waiting for it (its answer is read with a
        later one's, or at close); here, at once, if that zygote is gone (they came back to
        this subreaper). A group already reaped is left alone: its pid may be another's now."""
        generation = self.groups.get(pgid)
        if generation is None:
            return
        if self.is_current(generation) and self.sock is not None:
            try:
                self.reaping[self.start({"op": "reap", "pgid": pgid}, replace=False)] = pgid
                return
            except ZygoteGone:
                pass
        self.reap_here(pgid)

    def reap_here(self, pgid):
        """Kill and reap a group whose zygote is gone (its processes came back here)."""
        hygiene.kill_case(pgid, [])
        hygiene.reap_case(pgid)
        self.groups.pop(pgid, None)

    def launch(self):
        """Fork the zygote from this executor."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        blocked = {signal.SIGINT, signal.SIGTERM}
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            pid = os.fork()
            if pid == 0:
                serve(theirs, os.getppid(), mask)       # never returns
        except OSError as error:
            ours.close()
            theirs.close()
            raise ZygoteGone(error.errno, "cannot start the zygote: %s" % error)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        theirs.close()
        ours.settimeout(ANSWER_SECONDS)
        self.pid, self.sock, self.pidfd = pid, ours, processes.Watch(pid)
        self.generation += 1
        self.sent = self.read = 0       # (the replies kept are named by their generation)

    def check(self):
        """Whether the zygote is alive; if it died (killed from outside), end it here (lost)."""
        if self.pid is not None and self.pidfd.has_ended():
            self.lost()
        return self.pid is not None

    def lost(self):
        """The zygote died, or does not answer: end it and reap it. Its first processes die
        with it (PR_SET_PDEATHSIG) and come back here with their cases' processes, where
        their owners reap them (reap); those it was asked to reap are reaped now (their
        owners are done with them)."""
        if self.sock is not None:
            self.drain(0)               # what it said before it died is still to be read
            self.sock.close()
            self.sock = None
        if self.pid is not None:
            self.pidfd.send(signal.SIGKILL)
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pidfd.close()
            self.pid = self.pidfd = None
        reaping, self.reaping = self.reaping, {}
        for pgid in sorted(set(reaping.values()) & set(self.groups)):
            self.reap_here(pgid)

    def close(self):
        """At the end: end the zygote (after reading the replies still to come, for the pids
        they name) and reap every group left, whose owners are done."""
        if self.sock is not None:
            self.drain(5)
        self.lost()
        for pgid in sorted(self.groups):
            self.reap_here(pgid)
        self.replies = {}


def _fd_bytes(fds):
    return b"".join(fd.to_bytes(4, "little", signed=True) for fd in fds)


# --- the zygote's side ---------------------------------------------------------------------

def serve(sock, executor, mask):
    """The zygote's loop. Requests: {"op": "fork", "targets": [...]} with the case ends as
    SCM_RIGHTS (replies {"pid": ...} or {"error": ...}); {"op": "reap", "pgid": ...}
    (replies {"r": "ok"} once the group is empty)."""
    try:
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if not features.tie_to_parent(executor):
            os._exit(0)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)            # the executor's protocol streams are not the zygote's
        worker.close_all_but({0, 1, 2, sock.fileno()})
        fds = []
        while True:
            data, ancillary, flags, _ = sock.recvmsg(MESSAGE, socket.CMSG_SPACE(4 * MAX_FDS))
            if not data or flags & socket.MSG_CTRUNC:
                os._exit(0)         # the executor is gone (or sent what it never sends)
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds += [int.from_bytes(payload[i:i + 4], "little", signed=True)
                            for i in range(0, len(payload) - len(payload) % 4, 4)]
            request = marshal.loads(data)
            if request["op"] == "more":
                continue            # the first part of a fork's descriptors
            if request["op"] == "fork":
                reply = fork_first(request, fds, sock)
                fds = []
            else:
                hygiene.reap_case(request["pgid"])
                reply = {"r": "ok"}
            sock.send(marshal.dumps(reply))
    except BaseException:
        pass
    os._exit(70)


def fork_first(request, fds, sock):
    """Fork a first process holding `fds` at the descriptor numbers the executor gave them
    (request["targets"]), leader of its own process group; then close them here (in the
    zygote; without one, sock is None and the executor closes its own)."""
    from .first_process import become_first
    try:
        pid = os.fork()
    except OSError as error:
        reply = {"error": "fork: %s" % error}
    else:
        if pid == 0:
            if sock is not None:
                sock.close()
            become_first(os.getppid(), fds, request)      # never returns
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass                    # the child did it first
        reply = {"pid": pid}
    if sock is not None:
        for fd in fds:
            os.close(fd)
    return reply
