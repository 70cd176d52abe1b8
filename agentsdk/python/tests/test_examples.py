"""The worked examples of docs/sdk.md (agentsdk/examples/summarizer.c and
summarizer.py), built and run against a real broker: an orchestrator in
this process dispatches one item to each, and each result must arrive."""

import os
import subprocess
import sys
import tempfile
import unittest

import mandate_agent as m

from tests.test_broker import Broker, ORCH, SUMM, SCOPES, SRC, BIN

EXAMPLES = os.path.join(SRC, "agentsdk", "examples")


def _cc(out: str) -> None:
    cmd = ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror",
           "-I" + os.path.join(SRC, "include"),
           "-I" + os.path.join(BIN, "include"),
           os.path.join(EXAMPLES, "summarizer.c"), "-o", out,
           "-L" + os.path.join(BIN, "agentsdk"), "-L" + os.path.join(BIN, "core"),
           "-Wl,-rpath," + os.path.join(BIN, "agentsdk"),
           "-Wl,-rpath," + os.path.join(BIN, "core"),
           "-lmandate-agent", "-lmandate"]
    if "libasan" in os.environ.get("LD_PRELOAD", ""):
        cmd.insert(1, "-fsanitize=address,undefined")
    subprocess.run(cmd, check=True)


class ExamplesTest(unittest.TestCase):
    def setUp(self):
        self.b = Broker()
        self.orch = self.b.connect(ORCH)
        self.root = self.orch.open_task(self.b.assertion("pat-001"),
                                        "pat-001", "TREAT", SCOPES)

    def tearDown(self):
        self.root.close()
        self.orch.close()
        self.b.close()

    def _run(self, argv: "list[str]", payload: bytes) -> None:
        child = self.root.dispatch(SUMM, "patient/Observation.rs", payload)
        # a dead first address: the example fails over to the broker
        urls = "ipc://%s/nobody.sock,%s" % (self.b.dir, self.b.api)
        p = subprocess.run(argv + [urls, SUMM, self.b.keys[SUMM][0]],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(child, p.stdout)
        res = self.root.wait_result(child, 30000)
        self.assertEqual(res, b"summary of " + payload + b" for pat-001")

    def test_python_example(self):
        self._run([sys.executable, os.path.join(EXAMPLES, "summarizer.py")],
                  b"labs")

    def test_c_example(self):
        with tempfile.TemporaryDirectory() as d:
            exe = os.path.join(d, "summarizer")
            _cc(exe)
            self._run([exe], b"vitals")


if __name__ == "__main__":
    unittest.main()
