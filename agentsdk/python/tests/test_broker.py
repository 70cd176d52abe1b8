"""The Python module against a real broker: mandated started in a
temporary directory with generated agent keys and a development identity
provider (mandatectl idp), driven from Python as an orchestrator, an agent
and a resource server."""

import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import mandate_agent as m

SRC = os.environ.get("MDT_SOURCE_DIR", ".")
BIN = os.environ.get("MDT_BINARY_DIR", ".")
ORCH = "spiffe://clinic.example/orchestrator"
SUMM = "spiffe://clinic.example/agent/summarizer"
BROKER_ID = "spiffe://mandate.local/broker"
GATEWAY = "spiffe://mandate.local/gateway"
ISSUER = "https://idp.test.example"
SCOPES = "patient/*.rs tool/export.x"


class Broker:
    """A temporary mandated with its keys and identity provider."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mdt-py-")
        self.api = "ipc://%s/api.sock" % self.dir
        self.events = "ipc://%s/events.sock" % self.dir
        self.keys = {}
        for name, sid in (("orch", ORCH), ("summ", SUMM)):
            base = os.path.join(self.dir, name)
            with m.Keypair.generate() as k:
                k.save(base)
                self.keys[sid] = (base + ".key", k.public_text())
        self._entities()
        self._ctl("idp", "keygen", "--alg", "EdDSA", "--out",
                  os.path.join(self.dir, "idp"))
        self.proc = None
        self.start()

    def _ctl(self, *args):
        return subprocess.run([os.path.join(BIN, "broker", "mandatectl")]
                              + list(args), check=True, capture_output=True,
                              text=True).stdout

    def _entities(self):
        with open(os.path.join(SRC, "policies", "entities.json")) as f:
            ents = json.load(f)
        for e in ents:
            uid = e["uid"]
            if uid["type"] == "Mandate::Agent" and uid["id"] in self.keys:
                e["attrs"]["publicKey"] = self.keys[uid["id"]][1]
        with open(os.path.join(self.dir, "entities.json"), "w") as f:
            json.dump(ents, f)

    def assertion(self, patient):
        return self._ctl("idp", "assert", "--key",
                         os.path.join(self.dir, "idp.pem"), "--iss", ISSUER,
                         "--aud", BROKER_ID, "--sub", "dr-alice", "--patient",
                         patient, "--scope", SCOPES, "--ttl", "600").strip()

    def start(self):
        d = self.dir
        self.log = open(os.path.join(d, "broker.log"), "a")
        self.proc = subprocess.Popen([
            os.path.join(BIN, "broker", "mandated"), "--run-dir", d + "/run",
            "--data-dir", d + "/data", "--policy-dir", SRC + "/policies",
            "--entities", d + "/entities.json", "--listen", self.api,
            "--pub", self.events, "--idp-key", d + "/idp.pub.pem",
            "--set", "idp_issuer=" + ISSUER, "--set", "idp_alg=EdDSA",
            "--set", "idp_dev=1", "--set", "broker_id=" + BROKER_ID,
            "--set", "workers=4", "--set", "contexts=128",
            "--set", "work_lease_ms=400", "--set", "admins=" + ORCH],
            stderr=self.log)
        for _ in range(100):
            if os.path.exists(d + "/api.sock") and \
                    os.path.exists(d + "/data/root.pub"):
                return
            time.sleep(0.05)
        raise RuntimeError("mandated did not start; see " + d)

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None
            self.log.close()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def connect(self, sid):
        with m.Keypair.load(self.keys[sid][0]) as k:
            return m.Agent(self.api, sid, k, timeout_ms=10000)


class BrokerTest(unittest.TestCase):
    def setUp(self):
        self.b = Broker()
        self.orch = self.b.connect(ORCH)
        self.summ = self.b.connect(SUMM)
        self.v = m.Verifier(self.b.dir + "/data/root.pub", GATEWAY,
                            self.b.events)

    def tearDown(self):
        self.v.close()
        self.summ.close()
        self.orch.close()
        self.b.close()

    def test_orchestrate_authorize_verify_revoke(self):
        root = self.orch.open_task(self.b.assertion("pat-001"), "pat-001",
                                   "TREAT", SCOPES)
        self.assertEqual(root.clinician, "dr-alice")
        child = root.dispatch(SUMM, "patient/Observation.rs", b"summarize")
        work = self.summ.next(5000)
        self.assertIsNotNone(work)
        self.assertEqual(work.id, child)
        self.assertEqual(work.item_id, child)
        self.assertEqual(work.deliveries, 1)
        self.assertEqual(root.item_id, "")
        self.assertEqual(root.deliveries, 0)
        self.assertEqual(work.payload, b"summarize")
        self.assertEqual(work.patient, "pat-001")

        az = work.authorize("r", "Observation/obs-001-1")
        self.assertTrue(az.allowed, az.reason)
        tok, proof = work.present(az)
        grant = self.v.verify(tok, proof, "r", "Observation/obs-001-1",
                              "pat-001")
        self.assertEqual(grant["holder"], SUMM)
        with self.assertRaises(m.MandateError) as cm:
            self.v.verify(tok, proof, "r", "Observation/obs-001-1",
                          "pat-001")
        self.assertEqual(cm.exception.name, "EEXIST")

        denied = work.authorize("r", "Condition/cond-001-1")
        self.assertEqual(denied.decision, m.DENY)
        self.assertTrue(denied.reason)

        late = work.authorize("s", "Observation?patient=pat-001")
        self.assertTrue(late.allowed)
        work.complete(b"three observations")
        self.assertEqual(root.wait_result(child, 5000),
                         b"three observations")
        graph = json.loads(self.orch.task_graph(root.id))
        self.assertIn(child, json.dumps(graph))

        root.complete()
        for _ in range(200):
            if self.v.is_revoked(root.id):
                break
            time.sleep(0.01)
        self.assertTrue(self.v.is_revoked(root.id))
        tok, proof = work.present(late)
        with self.assertRaises(m.MandateError) as cm:
            self.v.verify(tok, proof, "s", "Observation?patient=pat-001",
                          "pat-001")
        self.assertEqual(cm.exception.name, "EREVOKED")

    def test_ack(self):
        root = self.orch.open_task(self.b.assertion("pat-001"), "pat-001",
                                   "TREAT", SCOPES)
        child = root.dispatch(SUMM, "patient/Observation.rs")
        work = self.summ.next(5000)
        self.assertEqual(work.item_id, child)
        self.assertEqual(work.deliveries, 1)
        # not acknowledged: back once its lease (400 ms here) ends
        again = self.summ.next(5000)
        self.assertEqual(again.item_id, child)
        self.assertEqual(again.deliveries, 2)
        again.ack()
        work.ack()  # nothing left to acknowledge: still fine
        root.ack()  # an opened task has no item
        self.assertIsNone(self.summ.next(1000))

    def test_abort_drops_the_work(self):
        root = self.orch.open_task(self.b.assertion("pat-001"), "pat-001",
                                   "TREAT", SCOPES)
        child = root.dispatch(SUMM, "patient/Observation.rs")
        self.assertEqual(self.orch.abort_task(child, "agent gone"), 1)
        self.assertIsNone(self.summ.next(800))
        with self.assertRaises(m.MandateError) as cm:
            self.orch.abort_task(child)
        self.assertEqual(cm.exception.name, "EREVOKED")
        with self.assertRaises(m.MandateError) as cm:
            self.summ.abort_task(root.id)
        self.assertEqual(cm.exception.name, "EAUTH")
        with self.assertRaises(m.MandateError) as cm:
            root.wait_result(child, 3000)
        self.assertEqual(cm.exception.name, "EREVOKED")

    def test_restart(self):
        root = self.orch.open_task(self.b.assertion("pat-001"), "pat-001",
                                   "TREAT", SCOPES)
        root.dispatch(SUMM, "patient/Observation.rs")
        work = self.summ.next(5000)
        work.ack()  # else it is delivered again once its lease ends
        second = root.dispatch(SUMM, "patient/Observation.rs")
        self.b.stop()
        self.b.start()
        # dispatched before the restart, taken after it
        again = self.summ.next(5000)
        self.assertEqual(again.item_id, second)
        self.assertEqual(again.deliveries, 1)
        az = work.authorize("r", "Observation/obs-001-1")
        self.assertTrue(az.allowed, az.reason)
        self.assertGreaterEqual(self.summ.reconnects, 1)


if __name__ == "__main__":
    unittest.main()
