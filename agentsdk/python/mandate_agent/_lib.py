"""Loading libmandate-agent and declaring the C signatures used."""

import ctypes
import ctypes.util
import glob
import os
import subprocess

ERRMSG_MAX = 256
ID_MAX = 256
HEADER_MAX = 21856

# enum mdt_err names, by value (include/mandate/common.h).
ERRORS = ["OK", "ENOMEM", "EINVAL", "EPARSE", "ETOOBIG", "EDECODE", "ESIG",
          "EEXPIRED", "EDEPTH", "ESCOPE", "EHOLDER", "ESEALED", "EVERSION",
          "EKEY", "EPATIENT", "EAUDIENCE", "EREVOKED", "EDENIED", "ESTEPUP",
          "EIO", "ESTORE", "ECRYPTO", "EPROTO", "EAUTH", "ETIMEDOUT",
          "ECLOSED", "ENOTFOUND", "EEXIST", "EBUSY", "EPOLICY", "ETRANSPORT",
          "ECHAIN", "EFANOUT", "ECYCLE", "EAUDIT", "ECONFIG", "EUNSUPPORTED"]


class MandateError(Exception):
    """A failed call: .code is the negative status, .name e.g. 'EDENIED'."""

    def __init__(self, code, detail=""):
        self.code = code
        self.name = ERRORS[-code] if 0 < -code < len(ERRORS) else "E?"
        self.detail = detail
        super().__init__("%s: %s" % (self.name, detail or strerror(code)))


def _candidates() -> "list[str]":
    """Where libmandate-agent may be, in the order tried."""
    out = []
    env = os.environ.get("MANDATE_AGENT_LIB")
    if env:
        out.append(env)
    found = ctypes.util.find_library("mandate-agent")
    if found:
        out.append(found)
    here = os.path.dirname(os.path.abspath(__file__))
    out += sorted(glob.glob(os.path.join(here, "libmandate-agent.so*")))
    try:
        libdir = subprocess.run(
            ["pkg-config", "--variable=libdir", "mandate-agent"],
            capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        libdir = ""
    if libdir:
        out += sorted(glob.glob(os.path.join(libdir, "libmandate-agent.so*")))
    return out


def _open(path: str) -> ctypes.CDLL:
    # libmandate-agent needs libmandate.so.0; an installed copy has no run
    # path, so load its sibling first rather than ask for LD_LIBRARY_PATH
    if os.sep in path:
        for dep in sorted(glob.glob(os.path.join(os.path.dirname(path),
                                                 "libmandate.so*"))):
            try:
                ctypes.CDLL(dep, mode=ctypes.RTLD_GLOBAL)
                break
            except OSError:
                continue
    return ctypes.CDLL(path)


def _load() -> ctypes.CDLL:
    errors = []
    for path in _candidates():
        try:
            return _open(path)
        except OSError as e:
            errors.append("%s: %s" % (path, e))
    raise OSError("libmandate-agent not found (set MANDATE_AGENT_LIB to its "
                  "path): " + ("; ".join(errors) or "no candidate"))


lib = _load()
c_p = ctypes.c_void_p
c_s = ctypes.c_char_p
c_i = ctypes.c_int
c_u32 = ctypes.c_uint32
c_i64 = ctypes.c_int64
c_sz = ctypes.c_size_t
c_buf = ctypes.POINTER(ctypes.c_uint8)


class _Sized(ctypes.Structure):
    """An options struct of <mandate/agent.h>: its first member is its
    size, set here so that the library reads every field declared."""

    def __init__(self, *args, **kw):
        # positional arguments fill the fields after size, in C's order
        super().__init__(**kw)
        for (name, _), value in zip(self._fields_[1:], args):
            setattr(self, name, value)
        self.size = ctypes.sizeof(self)


class AgentOpts(_Sized):
    _fields_ = [("size", c_sz), ("url", c_s), ("spiffe_id", c_s),
                ("key", c_p), ("timeout_ms", c_u32), ("retry_ms", c_u32),
                ("urls", ctypes.POINTER(c_s)), ("nurls", c_sz),
                ("failover_ms", c_u32)]


class AgentSvidOpts(_Sized):
    _fields_ = [("size", c_sz), ("cert_file", c_s), ("key_file", c_s)]


class OpenOpts(_Sized):
    _fields_ = [("size", c_sz), ("assertion", c_s), ("patient", c_s),
                ("purpose", c_s), ("scopes", c_s)]


class AuthzRequest(_Sized):
    _fields_ = [("size", c_sz), ("action", c_s), ("resource", c_s),
                ("patient", c_s), ("boundary", c_s), ("audience", c_s),
                ("wait_ms", c_u32)]


class Pubkey(ctypes.Structure):
    _fields_ = [("bytes", ctypes.c_uint8 * 32)]


class VerifierOpts(_Sized):
    _fields_ = [("size", c_sz), ("broker_key", ctypes.POINTER(Pubkey)),
                ("audience", c_s), ("events_url", c_s), ("max_skew_s", c_u32)]


class RsRequest(_Sized):
    _fields_ = [("size", c_sz), ("action", c_s), ("resource", c_s),
                ("patient", c_s), ("now", c_i64)]


class RsGrant(ctypes.Structure):
    _fields_ = [("task_id", ctypes.c_char * ID_MAX),
                ("token_id", ctypes.c_char * ID_MAX),
                ("holder", ctypes.c_char * ID_MAX),
                ("clinician", ctypes.c_char * ID_MAX),
                ("patient", ctypes.c_char * ID_MAX),
                ("purpose", ctypes.c_char * 32), ("expiry", c_i64)]


class Event(ctypes.Structure):
    _fields_ = [("kind", c_i), ("time", c_i64), ("expires", c_i64),
                ("task_id", c_s), ("parent", c_s), ("request_id", c_s),
                ("agent", c_s), ("clinician", c_s), ("patient", c_s),
                ("purpose", c_s), ("action", c_s), ("resource", c_s),
                ("detail", c_s), ("ids", ctypes.POINTER(c_s)),
                ("nids", c_sz)]


_E = ctypes.c_char * ERRMSG_MAX

# name: (restype, argtypes)
_SIGS = {
    "mdt_strerror": (c_s, [c_i]),
    "mdt_version": (c_s, []),
    "mdt_free": (None, [c_p]),
    "mdt_keypair_generate": (c_i, [ctypes.POINTER(c_p)]),
    "mdt_keypair_free": (None, [c_p]),
    "mdt_keypair_public": (None, [c_p, ctypes.POINTER(Pubkey)]),
    "mdt_keypair_save": (c_i, [c_p, c_s, _E, c_sz]),
    "mdt_keypair_load": (c_i, [c_s, ctypes.POINTER(c_p), _E, c_sz]),
    "mdt_pubkey_load": (c_i, [c_s, ctypes.POINTER(Pubkey), _E, c_sz]),
    "mdt_pubkey_to_text": (None, [ctypes.POINTER(Pubkey),
                                  ctypes.c_char * 51]),
    "mdt_agent_connect": (c_i, [ctypes.POINTER(AgentOpts),
                                ctypes.POINTER(c_p), _E, c_sz]),
    "mdt_agent_connect_svid": (c_i, [ctypes.POINTER(AgentOpts),
                                     ctypes.POINTER(AgentSvidOpts),
                                     ctypes.POINTER(c_p), _E, c_sz]),
    "mdt_agent_close": (None, [c_p]),
    "mdt_agent_spiffe_id": (c_s, [c_p]),
    "mdt_agent_reconnects": (ctypes.c_uint64, [c_p]),
    "mdt_agent_url": (c_s, [c_p]),
    "mdt_agent_failovers": (ctypes.c_uint64, [c_p]),
    "mdt_agent_open_task": (c_i, [c_p, ctypes.POINTER(OpenOpts),
                                  ctypes.POINTER(c_p), _E, c_sz]),
    "mdt_agent_next": (c_i, [c_p, c_u32, ctypes.POINTER(c_p), _E, c_sz]),
    "mdt_agent_stop": (None, [c_p]),
    "mdt_agent_decide_step_up": (c_i, [c_p, c_s, c_s, c_i, c_s, _E, c_sz]),
    "mdt_agent_abort_task": (c_i, [c_p, c_s, c_s, ctypes.POINTER(c_sz),
                                   _E, c_sz]),
    "mdt_agent_task_graph": (c_i, [c_p, c_s, ctypes.POINTER(c_p), _E,
                                   c_sz]),
    "mdt_task_free": (None, [c_p]),
    "mdt_task_id": (c_s, [c_p]),
    "mdt_task_parent": (c_s, [c_p]),
    "mdt_task_from": (c_s, [c_p]),
    "mdt_task_clinician": (c_s, [c_p]),
    "mdt_task_patient": (c_s, [c_p]),
    "mdt_task_purpose": (c_s, [c_p]),
    "mdt_task_scopes": (c_s, [c_p]),
    "mdt_task_depth": (c_u32, [c_p]),
    "mdt_task_expiry": (c_i64, [c_p]),
    "mdt_task_payload": (c_buf, [c_p, ctypes.POINTER(c_sz)]),
    "mdt_task_item_id": (c_s, [c_p]),
    "mdt_task_deliveries": (c_u32, [c_p]),
    "mdt_task_ack": (c_i, [c_p, _E, c_sz]),
    "mdt_task_dispatch": (c_i, [c_p, c_s, c_s, c_p, c_sz,
                                ctypes.c_char * ID_MAX, _E, c_sz]),
    "mdt_task_wait_result": (c_i, [c_p, c_s, c_u32, ctypes.POINTER(c_buf),
                                   ctypes.POINTER(c_sz), _E, c_sz]),
    "mdt_task_report": (c_i, [c_p, c_p, c_sz, _E, c_sz]),
    "mdt_task_complete": (c_i, [c_p, c_p, c_sz, _E, c_sz]),
    "mdt_task_cancel": (c_i, [c_p, c_s, _E, c_sz]),
    "mdt_task_authorize_req": (c_i, [c_p, ctypes.POINTER(AuthzRequest),
                                     ctypes.POINTER(c_p), _E, c_sz]),
    "mdt_task_wait_step_up": (c_i, [c_p, c_p, c_u32, ctypes.POINTER(c_p),
                                    _E, c_sz]),
    "mdt_task_present": (c_i, [c_p, c_p, c_i64,
                               ctypes.c_char * HEADER_MAX,
                               ctypes.c_char * HEADER_MAX]),
    "mdt_authz_free": (None, [c_p]),
    "mdt_authz_decision_of": (c_i, [c_p]),
    "mdt_authz_flags": (c_u32, [c_p]),
    "mdt_authz_reason": (c_s, [c_p]),
    "mdt_authz_detail": (c_s, [c_p]),
    "mdt_authz_policies": (c_s, [c_p]),
    "mdt_authz_request_id": (c_s, [c_p]),
    "mdt_authz_expires": (c_i64, [c_p]),
    "mdt_event_sub_open": (c_i, [c_s, ctypes.POINTER(c_p), _E, c_sz]),
    "mdt_event_sub_next": (c_i, [c_p, c_u32, ctypes.POINTER(Event)]),
    "mdt_event_sub_close": (None, [c_p]),
    "mdt_rs_verifier_new": (c_i, [ctypes.POINTER(VerifierOpts),
                                  ctypes.POINTER(c_p), _E, c_sz]),
    "mdt_rs_verifier_free": (None, [c_p]),
    "mdt_rs_verifier_revoke": (c_i, [c_p, c_s]),
    "mdt_rs_verifier_is_revoked": (c_i, [c_p, c_s]),
    "mdt_rs_verifier_revocations": (ctypes.c_uint64, [c_p]),
    "mdt_rs_verify": (c_i, [c_p, c_s, c_s, ctypes.POINTER(RsRequest),
                            ctypes.POINTER(RsGrant), _E, c_sz]),
}

for _name, (_res, _args) in _SIGS.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args


def strerror(code):
    """The library's text for a status code (either sign)."""
    return lib.mdt_strerror(code).decode()


def version():
    """libmandate's version string."""
    return lib.mdt_version().decode()


def enc(s):
    """str -> bytes for a C string argument (None stays None)."""
    return None if s is None else s.encode()


def dec(b):
    """bytes from a C string result -> str ('' for NULL)."""
    return "" if b is None else b.decode()


def call(fn, *args):
    """Calls fn(*args, err, errlen) and raises MandateError on failure."""
    err = _E()
    rv = fn(*args, err, ERRMSG_MAX)
    if rv != 0:
        raise MandateError(rv, err.value.decode(errors="replace"))
    return rv


def check(rv, detail=""):
    """Raises MandateError for a non-zero status."""
    if rv != 0:
        raise MandateError(rv, detail)
