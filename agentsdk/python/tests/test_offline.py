"""The Python module without a broker: errors, keys, the verifier's
refusals, event subscriptions and connection failures."""

import os
import stat
import tempfile
import unittest

import mandate_agent as m


class ErrorsTest(unittest.TestCase):
    def test_every_code_has_a_text(self):
        texts = [m.strerror(-i) for i in range(1, len(m.ERRORS))]
        self.assertNotIn("unknown error", texts)
        self.assertEqual(len(set(texts)), len(texts))
        self.assertEqual(m.strerror(0), m.strerror(-0))

    def test_error_names(self):
        e = m.MandateError(-17, "policy.deny: forbidden")
        self.assertEqual(e.name, "EDENIED")
        self.assertIn("policy.deny", str(e))

    def test_version(self):
        self.assertRegex(m.version(), r"^\d+\.\d+\.\d+$")


class KeysTest(unittest.TestCase):
    def test_generate_save_load(self):
        with tempfile.TemporaryDirectory() as d:
            base = os.path.join(d, "agent")
            with m.Keypair.generate() as k:
                k.save(base)
                text = k.public_text()
            self.assertTrue(text.startswith("mdtpk1."))
            mode = stat.S_IMODE(os.stat(base + ".key").st_mode)
            self.assertEqual(mode, 0o600)
            with m.Keypair.load(base + ".key") as k2:
                self.assertEqual(k2.public_text(), text)
            with open(base + ".pub") as f:
                self.assertEqual(f.read().strip(), text)

    def test_refuses_readable_key(self):
        with tempfile.TemporaryDirectory() as d:
            base = os.path.join(d, "agent")
            m.Keypair.generate().save(base)
            os.chmod(base + ".key", 0o644)
            with self.assertRaises(m.MandateError) as cm:
                m.Keypair.load(base + ".key")
            self.assertEqual(cm.exception.name, "EKEY")


class VerifierTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        base = os.path.join(self.dir.name, "root")
        m.Keypair.generate().save(base)
        self.v = m.Verifier(base + ".pub", "spiffe://example/gw")

    def tearDown(self):
        self.v.close()
        self.dir.cleanup()

    def refusal(self, token, proof):
        with self.assertRaises(m.MandateError) as cm:
            self.v.verify(token, proof, "r", "Patient/pat-001", "pat-001")
        return cm.exception.name

    def test_nothing_presented(self):
        self.assertEqual(self.refusal(None, None), "EAUTH")

    def test_malformed_proof(self):
        self.assertEqual(self.refusal("mdt1.AAAA", "mdtpop1.x.y.z"),
                         "EDECODE")

    def test_malformed_token(self):
        proof = "mdtpop1.1.0123456789abcdef0123456789abcdef." + "A" * 86
        self.assertNotEqual(self.refusal("mdt1.AAAA", proof), "OK")

    def test_revocation_set(self):
        self.assertFalse(self.v.is_revoked("task-1"))
        self.v.revoke("task-1")
        self.v.revoke("task-1")
        self.assertTrue(self.v.is_revoked("task-1"))
        self.assertEqual(self.v.revocations, 1)


class TransportTest(unittest.TestCase):
    def test_events_time_out(self):
        with m.Events("ipc:///tmp/mdt-py-nobody-%d.sock" % os.getpid()) as ev:
            self.assertIsNone(ev.next(100))

    def test_connect_unreachable(self):
        with m.Keypair.generate() as k:
            with self.assertRaises(m.MandateError) as cm:
                m.Agent("ipc:///tmp/mdt-py-nobody-%d.sock" % os.getpid(),
                        "spiffe://example/a", k, timeout_ms=300)
            self.assertEqual(cm.exception.name, "ETIMEDOUT")

    def test_connect_svid_files_checked_first(self):
        with tempfile.TemporaryDirectory() as d:
            cert, key = d + "/svid.pem", d + "/svid.key"
            with self.assertRaises(m.MandateError) as cm:
                m.Agent("ipc:///tmp/mdt-py-nobody-%d.sock" % os.getpid(),
                        None, None, timeout_ms=300, svid=(cert, key))
            self.assertEqual(cm.exception.name, "ENOTFOUND")
            self.assertIn(cert, cm.exception.detail)
            with open(cert, "w") as f:
                f.write("not a certificate\n")
            with self.assertRaises(m.MandateError) as cm:
                m.Agent("ipc:///tmp/mdt-py-nobody-%d.sock" % os.getpid(),
                        None, None, timeout_ms=300, svid=(cert, key))
            self.assertEqual(cm.exception.name, "EPARSE")
            self.assertIn("no CERTIFICATE block", cm.exception.detail)


if __name__ == "__main__":
    unittest.main()
