"""Python objects over the C handles of <mandate/agent.h>."""

from __future__ import annotations

import ctypes
from typing import Any, Dict, Optional, Sequence, Tuple, Union

from ._lib import (lib, call, check, enc, dec, MandateError, AgentOpts,
                   AgentSvidOpts, OpenOpts, AuthzRequest, Pubkey, VerifierOpts, RsRequest,
                   RsGrant, Event, ID_MAX, HEADER_MAX)

DENY, ALLOW, STEP_UP = 0, 1, 2
FLAG_REVIEW, FLAG_APPROVED = 0x1, 0x2
_EVENT_KINDS = {1: "revoked", 2: "step_up", 3: "decided", 4: "task",
                5: "epoch"}


class _Handle:
    """Owns one C handle; close() frees it (idempotent)."""

    _free = None

    def __init__(self, ptr: Optional[int]) -> None:
        self._ptr = ptr

    def close(self) -> None:
        """Frees the handle; later calls on it raise MandateError."""
        if self._ptr:
            type(self)._free(self._ptr)
            self._ptr = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    @property
    def ptr(self) -> int:
        if not self._ptr:
            raise MandateError(-25, "handle is closed")
        return self._ptr


def _bytes_arg(data):
    if data is None:
        return None, 0
    data = bytes(data)
    return ctypes.c_char_p(data), len(data)


class Keypair(_Handle):
    """An Ed25519 key pair (secret wiped when closed)."""

    _free = lib.mdt_keypair_free

    @classmethod
    def generate(cls) -> "Keypair":
        """A fresh random key pair."""
        p = ctypes.c_void_p()
        check(lib.mdt_keypair_generate(ctypes.byref(p)))
        return cls(p.value)

    @classmethod
    def load(cls, path: str) -> "Keypair":
        p = ctypes.c_void_p()
        call(lib.mdt_keypair_load, enc(path), ctypes.byref(p))
        return cls(p.value)

    def save(self, base: str) -> None:
        """Writes base.key (0600) and base.pub."""
        call(lib.mdt_keypair_save, self.ptr, enc(base))

    def public_text(self) -> str:
        """The public key as "mdtpk1.<base64url>"."""
        pk = Pubkey()
        lib.mdt_keypair_public(self.ptr, ctypes.byref(pk))
        buf = (ctypes.c_char * 51)()
        lib.mdt_pubkey_to_text(ctypes.byref(pk), buf)
        return buf.value.decode()


class Authz(_Handle):
    """One authorize answer: .decision is ALLOW, DENY or STEP_UP."""

    _free = lib.mdt_authz_free

    decision = property(lambda s: lib.mdt_authz_decision_of(s.ptr))
    flags = property(lambda s: lib.mdt_authz_flags(s.ptr))
    reason = property(lambda s: dec(lib.mdt_authz_reason(s.ptr)))
    detail = property(lambda s: dec(lib.mdt_authz_detail(s.ptr)))
    policies = property(lambda s: [p for p in dec(
        lib.mdt_authz_policies(s.ptr)).split(",") if p])
    request_id = property(lambda s: dec(lib.mdt_authz_request_id(s.ptr)))
    expires = property(lambda s: lib.mdt_authz_expires(s.ptr))

    @property
    def allowed(self) -> bool:
        """True for an allow."""
        return self.decision == ALLOW


class Task(_Handle):
    """A task held by this agent (root task or received work)."""

    _free = lib.mdt_task_free

    def __init__(self, ptr: int, agent: "Agent") -> None:
        super().__init__(ptr)
        self._agent = agent  # keeps the connection alive

    id = property(lambda s: dec(lib.mdt_task_id(s.ptr)))
    parent = property(lambda s: dec(lib.mdt_task_parent(s.ptr)))
    sender = property(lambda s: dec(lib.mdt_task_from(s.ptr)))
    clinician = property(lambda s: dec(lib.mdt_task_clinician(s.ptr)))
    patient = property(lambda s: dec(lib.mdt_task_patient(s.ptr)))
    purpose = property(lambda s: dec(lib.mdt_task_purpose(s.ptr)))
    scopes = property(lambda s: dec(lib.mdt_task_scopes(s.ptr)))
    depth = property(lambda s: lib.mdt_task_depth(s.ptr))
    expiry = property(lambda s: lib.mdt_task_expiry(s.ptr))
    # The work item that delivered the task: the same id on every
    # redelivery ('' and 0 for an opened task).  Delivery is at least
    # once: see ack().
    item_id = property(lambda s: dec(lib.mdt_task_item_id(s.ptr)))
    deliveries = property(lambda s: lib.mdt_task_deliveries(s.ptr))

    @property
    def payload(self) -> bytes:
        """The payload sent with the work (b'' when none)."""
        n = ctypes.c_size_t()
        p = lib.mdt_task_payload(self.ptr, ctypes.byref(n))
        return ctypes.string_at(p, n.value) if n.value else b""

    def dispatch(self, target: str, scopes: str,
                 payload: Optional[bytes] = None) -> str:
        """Sends a subtask to target; returns the child task id."""
        buf, n = _bytes_arg(payload)
        child = (ctypes.c_char * ID_MAX)()
        call(lib.mdt_task_dispatch, self.ptr, enc(target), enc(scopes), buf,
             n, child)
        return child.value.decode()

    def wait_result(self, child_id: str, timeout_ms: int = 30000) -> bytes:
        """The result bytes the child reported or completed with."""
        p = ctypes.POINTER(ctypes.c_uint8)()
        n = ctypes.c_size_t()
        call(lib.mdt_task_wait_result, self.ptr, enc(child_id), timeout_ms,
             ctypes.byref(p), ctypes.byref(n))
        try:
            return ctypes.string_at(p, n.value) if n.value else b""
        finally:
            lib.mdt_free(ctypes.cast(p, ctypes.c_void_p))

    def ack(self) -> None:
        """Acknowledges the work item, so it is not delivered again while
        the task stays open (complete() and cancel() acknowledge it too)."""
        call(lib.mdt_task_ack, self.ptr)

    def report(self, result: bytes = b"") -> None:
        """Sends an interim result to the parent's holder."""
        buf, n = _bytes_arg(result)
        call(lib.mdt_task_report, self.ptr, buf, n)

    def complete(self, result: bytes = b"") -> None:
        """Completes the task, revoking it and every descendant."""
        buf, n = _bytes_arg(result)
        call(lib.mdt_task_complete, self.ptr, buf, n)

    def cancel(self, reason: Optional[str] = None) -> None:
        """Cancels the task and every descendant."""
        call(lib.mdt_task_cancel, self.ptr, enc(reason))

    def authorize(self, action: str, resource: str,
                  patient: Optional[str] = None,
                  boundary: Optional[str] = None,
                  audience: Optional[str] = None,
                  wait_ms: int = 0) -> "Authz":
        """Asks the broker for one action now; returns an Authz."""
        req = AuthzRequest(enc(action), enc(resource), enc(patient),
                           enc(boundary), enc(audience), wait_ms)
        out = ctypes.c_void_p()
        call(lib.mdt_task_authorize_req, self.ptr, ctypes.byref(req),
             ctypes.byref(out))
        return Authz(out.value)

    def wait_step_up(self, authz: "Authz",
                     timeout_ms: int = 30000) -> "Authz":
        """Waits for the clinician's decision on a step-up answer."""
        out = ctypes.c_void_p()
        call(lib.mdt_task_wait_step_up, self.ptr, authz.ptr, timeout_ms,
             ctypes.byref(out))
        return Authz(out.value)

    def present(self, authz: "Authz", now: int = 0) -> Tuple[str, str]:
        """(token, proof) header values for a resource server."""
        tok = (ctypes.c_char * HEADER_MAX)()
        proof = (ctypes.c_char * HEADER_MAX)()
        check(lib.mdt_task_present(self.ptr, authz.ptr, now, tok, proof),
              "present")
        return tok.value.decode(), proof.value.decode()


class Agent(_Handle):
    """An authenticated broker connection (reconnects by itself)."""

    _free = lib.mdt_agent_close

    def __init__(self, url: Union[str, Sequence[str]],
                 spiffe_id: Optional[str], key: Optional[Keypair],
                 timeout_ms: int = 0, retry_ms: int = 0,
                 svid: Optional[Tuple[str, str]] = None,
                 failover_ms: int = 0) -> None:
        """url is one broker address, several separated by commas, or a
        list of addresses of the same service: the connection moves to
        the next one when its broker stays away failover_ms (0 = 1000).
        svid=(cert_file, key_file) authenticates with an X.509-SVID;
        then spiffe_id may be None (the SVID's) and key None (no token
        presentation), see docs/sdk.md."""
        self._key = key
        opts = AgentOpts(None, enc(spiffe_id),
                         key.ptr if key is not None else None, timeout_ms,
                         retry_ms)
        opts.failover_ms = failover_ms
        if isinstance(url, (list, tuple)):
            urls = (ctypes.c_char_p * len(url))(*[enc(u) for u in url])
            opts.urls = ctypes.cast(urls, ctypes.POINTER(ctypes.c_char_p))
            opts.nurls = len(url)
        else:
            opts.url = enc(url)
        p = ctypes.c_void_p()
        if svid is None:
            call(lib.mdt_agent_connect, ctypes.byref(opts), ctypes.byref(p))
        else:
            so = AgentSvidOpts(enc(svid[0]), enc(svid[1]))
            call(lib.mdt_agent_connect_svid, ctypes.byref(opts),
                 ctypes.byref(so), ctypes.byref(p))
        super().__init__(p.value)

    spiffe_id = property(lambda s: dec(lib.mdt_agent_spiffe_id(s.ptr)))
    reconnects = property(lambda s: lib.mdt_agent_reconnects(s.ptr))
    url = property(lambda s: dec(lib.mdt_agent_url(s.ptr)),
                   doc="The broker address dialed now.")
    failovers = property(lambda s: lib.mdt_agent_failovers(s.ptr),
                         doc="How often the connection moved to another "
                         "address.")

    def open_task(self, assertion: str, patient: str, purpose: str,
                  scopes: str) -> Task:
        """Opens a root task for the clinician of the launch assertion."""
        opts = OpenOpts(enc(assertion), enc(patient), enc(purpose),
                        enc(scopes))
        p = ctypes.c_void_p()
        call(lib.mdt_agent_open_task, self.ptr, ctypes.byref(opts),
             ctypes.byref(p))
        return Task(p.value, self)

    def next(self, timeout_ms: int = 30000) -> Optional[Task]:
        """The next work item as a Task, or None when none came in time."""
        p = ctypes.c_void_p()
        try:
            call(lib.mdt_agent_next, self.ptr, timeout_ms, ctypes.byref(p))
        except MandateError as e:
            if e.name == "ETIMEDOUT":
                return None
            raise
        return Task(p.value, self)

    def stop(self) -> None:
        lib.mdt_agent_stop(self.ptr)

    def decide_step_up(self, request_id: str, assertion: str, approve: bool,
                       note: Optional[str] = None) -> None:
        """Approves or rejects a parked step-up as the clinician."""
        call(lib.mdt_agent_decide_step_up, self.ptr, enc(request_id),
             enc(assertion), 1 if approve else 0, enc(note))

    def abort_task(self, task_id: str, reason: Optional[str] = None) -> int:
        """Admin: cancels a task this agent does not hold (the broker's
        `admins` only); returns how many tasks ended."""
        n = ctypes.c_size_t()
        call(lib.mdt_agent_abort_task, self.ptr, enc(task_id), enc(reason),
             ctypes.byref(n))
        return n.value

    def task_graph(self, task_id: str) -> str:
        """The task tree containing task_id, as JSON text."""
        p = ctypes.c_void_p()
        call(lib.mdt_agent_task_graph, self.ptr, enc(task_id),
             ctypes.byref(p))
        try:
            return ctypes.string_at(p.value).decode()
        finally:
            lib.mdt_free(p)


class Events(_Handle):
    """A subscription to the broker's events."""

    _free = lib.mdt_event_sub_close

    def __init__(self, url: str) -> None:
        p = ctypes.c_void_p()
        call(lib.mdt_event_sub_open, enc(url), ctypes.byref(p))
        super().__init__(p.value)

    def next(self, timeout_ms: int = 1000) -> Optional[Dict[str, Any]]:
        """The next event as a dict, or None on timeout."""
        ev = Event()
        rv = lib.mdt_event_sub_next(self.ptr, timeout_ms, ctypes.byref(ev))
        if rv == -24:  # ETIMEDOUT
            return None
        check(rv, "event")
        out = {"kind": _EVENT_KINDS.get(ev.kind, "?"), "time": ev.time,
               "expires": ev.expires,
               "ids": [dec(ev.ids[i]) for i in range(ev.nids)]}
        for f in ("task_id", "parent", "request_id", "agent", "clinician",
                  "patient", "purpose", "action", "resource", "detail"):
            out[f] = dec(getattr(ev, f))
        return out


class Verifier(_Handle):
    """Offline verification of single-action tokens (resource servers)."""

    _free = lib.mdt_rs_verifier_free

    def __init__(self, broker_key_file: str, audience: str,
                 events_url: Optional[str] = None,
                 max_skew_s: int = 0) -> None:
        pk = Pubkey()
        call(lib.mdt_pubkey_load, enc(broker_key_file), ctypes.byref(pk))
        opts = VerifierOpts(ctypes.pointer(pk), enc(audience),
                            enc(events_url), max_skew_s)
        p = ctypes.c_void_p()
        call(lib.mdt_rs_verifier_new, ctypes.byref(opts), ctypes.byref(p))
        super().__init__(p.value)

    def revoke(self, task_id: str) -> None:
        """Adds a revoked task or token id by hand."""
        check(lib.mdt_rs_verifier_revoke(self.ptr, enc(task_id)), task_id)

    def is_revoked(self, task_id: str) -> bool:
        return lib.mdt_rs_verifier_is_revoked(self.ptr, enc(task_id)) == 1

    @property
    def revocations(self) -> int:
        return lib.mdt_rs_verifier_revocations(self.ptr)

    def verify(self, token: str, proof: str, action: str, resource: str,
               patient: Optional[str] = None,
               now: int = 0) -> Dict[str, Any]:
        """A dict describing the grant; raises MandateError on refusal."""
        req = RsRequest(enc(action), enc(resource), enc(patient), now)
        g = RsGrant()
        call(lib.mdt_rs_verify, self.ptr, enc(token), enc(proof),
             ctypes.byref(req), ctypes.byref(g))
        return {f: (getattr(g, f).decode() if f != "expiry" else g.expiry)
                for f, _ in RsGrant._fields_}
