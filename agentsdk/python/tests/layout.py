"""Prints the ctypes layout of every struct the module shares with
<mandate/agent.h>, one "Struct.field offset" or "Struct size" line each,
in the form tests/integration/test_python_layout.sh compares with the C
compiler's offsetof and sizeof."""

import ctypes

from mandate_agent import _lib

# ctypes class -> C struct name
STRUCTS = {
    "AgentOpts": "mdt_agent_opts",
    "AgentSvidOpts": "mdt_agent_svid_opts",
    "OpenOpts": "mdt_open_opts",
    "AuthzRequest": "mdt_authz_request",
    "VerifierOpts": "mdt_rs_verifier_opts",
    "RsRequest": "mdt_rs_request",
    "RsGrant": "mdt_rs_grant",
    "Event": "mdt_event",
    "Pubkey": "mdt_pubkey",
}

for py, c in sorted(STRUCTS.items(), key=lambda kv: kv[1]):
    cls = getattr(_lib, py)
    print("%s size %d" % (c, ctypes.sizeof(cls)))
    for name, _ in cls._fields_:
        print("%s.%s %d" % (c, name, getattr(cls, name).offset))
