"""A complete agent with the Python module (docs/sdk.md, "A worked
example"): connects to the broker (one address or several, comma
separated, for failover), takes one work item, asks whether it may read
the patient's observations, and completes the task with its result.

    python3 summarizer.py BROKER_URLS SPIFFE_ID KEY_FILE
"""

import sys

import mandate_agent as m


def work(task: m.Task) -> None:
    az = task.authorize("s", "Observation?patient=" + task.patient)
    if not az.allowed:
        result = "refused: " + az.reason
    else:
        # here the agent would send task.present(az)'s two headers to the
        # FHIR server with its search
        result = "summary of %s for %s" % (task.payload.decode(),
                                           task.patient)
    print("%s: %s" % (task.id, result))
    task.complete(result.encode())


def main() -> int:
    if len(sys.argv) != 4:
        print("usage: summarizer.py BROKER_URLS SPIFFE_ID KEY_FILE",
              file=sys.stderr)
        return 2
    urls, spiffe_id, key_file = sys.argv[1:]
    with m.Keypair.load(key_file) as key, \
            m.Agent(urls.split(","), spiffe_id, key) as agent:
        task = agent.next(30000)
        if task is None:
            print("no work arrived", file=sys.stderr)
            return 1
        try:
            work(task)
        except m.MandateError as e:
            # e.name: "EDENIED", "ETIMEDOUT", ...; str(e): the detail
            print("failed: %s" % e, file=sys.stderr)
            return 1
        finally:
            task.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
