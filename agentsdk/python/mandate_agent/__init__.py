"""Mandate agent SDK for Python: a thin ctypes layer over libmandate-agent.

Standard library only.  The shared library is found through the
MANDATE_AGENT_LIB environment variable (a path to libmandate-agent.so), else
the dynamic loader's usual search (ctypes.util.find_library), else next to
this package, else in the libdir of `pkg-config mandate-agent`.

Objects map one to one onto the C handles of <mandate/agent.h>:

    Keypair    an Ed25519 key pair (<mandate/key.h>)
    Agent      an authenticated connection to the broker
    Task       a task the caller holds (opened, or received as work)
    Authz      the broker's answer to one authorize request
    Events     a subscription to the broker's PUB socket
    Verifier   a resource server's offline token verifier

Errors raise MandateError, whose .code is the negative MDT_E* status and
whose message is the library's detail.  Handles are freed by close() or by
leaving a ``with`` block; thread safety is the C library's (an Agent may be
shared between threads, a Task used from several threads for authorize).
"""

from ._lib import MandateError, strerror, version, ERRORS
from ._objects import (Keypair, Agent, Task, Authz, Events, Verifier,
                       ALLOW, DENY, STEP_UP, FLAG_REVIEW, FLAG_APPROVED)

__all__ = ["MandateError", "strerror", "version", "ERRORS", "Keypair",
           "Agent", "Task", "Authz", "Events", "Verifier", "ALLOW", "DENY",
           "STEP_UP", "FLAG_REVIEW", "FLAG_APPROVED"]
