"""deploy/slurm/flopwise-worker.sbatch as Slurm runs it, without Slurm: the
batch shell gets the job's environment (array index, CPUs, memory), starts a
real worker against a real coordinator on loopback over TLS (certificates from
scripts/make-tls-certs.sh), and on SIGTERM to the shell alone, as
`--signal=B:TERM@...` sends it, the worker drains and the job exits 0. Run
again for the same array index, the worker comes back under the same id."""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

DEADLINE_S = 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, predicate):
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    sys.exit(f"FAIL: timed out waiting for {what}")


class Test:
    def __init__(self, source, bin_dir, scratch):
        self.source, self.bin, self.dir = source, bin_dir, scratch
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        for role in ("client", "worker"):
            path = self.path(f"{role}.token")
            with open(path, "w", encoding="utf-8") as f:
                f.write(f"{role}-token-for-the-slurm-test\n")
            os.chmod(path, 0o600)
        subprocess.run([os.path.join(source, "scripts", "make-tls-certs.sh"), self.path("tls"),
                        "localhost", "127.0.0.1"], check=True, capture_output=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def start_coordinator(self):
        log = open(self.path("coordinator.log"), "w")
        return subprocess.Popen(
            [os.path.join(self.bin, "flopwise-coordinator"), "--listen", self.address,
             "--db", self.path("flopwise.db"), "--tls-cert", self.path("tls/tls.crt"),
             "--tls-key", self.path("tls/tls.key"),
             "--client-token-file", self.path("client.token"),
             "--worker-token-file", self.path("worker.token")],
            stdout=log, stderr=subprocess.STDOUT)

    def flopwise(self, *args):
        return subprocess.run([os.path.join(self.bin, "flopwise"), *args, "--coordinator",
                               self.address, "--tls-ca", self.path("tls/ca.crt")],
                              capture_output=True, text=True, timeout=30)

    def workers(self):
        result = self.flopwise("workers", "--json", "--token-file", self.path("client.token"))
        if result.returncode != 0:
            return None
        return json.loads(result.stdout).get("workers", [])

    def workers_seen_since(self, ms):
        """The workers, once one has registered or heartbeat at or after `ms`."""
        workers = self.workers() or []
        for worker in workers:
            seen = worker.get("last_heartbeat_ms", worker.get("lastHeartbeatMs", 0))
            if int(seen) >= ms:
                return workers
        return None

    def start_job(self, array_index):
        env = dict(os.environ,
                   FLOPWISE_COORDINATOR=self.address,
                   FLOPWISE_TOKEN_FILE=self.path("worker.token"),
                   FLOPWISE_TLS_CA=self.path("tls/ca.crt"),
                   FLOPWISE_BIN=self.bin,
                   FLOPWISE_WORK_ROOT=self.path("workers"),
                   SLURM_ARRAY_TASK_ID=str(array_index),
                   SLURM_CPUS_PER_TASK="1",
                   SLURM_MEM_PER_NODE="2048")
        log = open(self.path(f"job-{array_index}.log"), "a")
        return subprocess.Popen(
            ["bash", os.path.join(self.source, "deploy", "slurm", "flopwise-worker.sbatch")],
            env=env, stdout=log, stderr=subprocess.STDOUT)


def worker_id(worker):
    return worker.get("worker_id") or worker.get("workerId")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--bin", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flopwise-slurm-") as scratch:
        test = Test(args.source, args.bin, scratch)
        coordinator = test.start_coordinator()
        try:
            wait_until("the coordinator over TLS",
                       lambda: test.flopwise("health").stdout == "SERVING\n")
            ids = []
            for attempt in range(2):
                started_ms = int(time.time() * 1000)
                job = test.start_job(array_index=3)
                workers = wait_until("the job's worker to register",
                                     lambda: test.workers_seen_since(started_ms))
                id_file = test.path("workers/worker-3/worker-id")
                with open(id_file, encoding="utf-8") as f:
                    ids.append(f.read().strip())
                registered = {worker_id(w): w for w in workers}
                if ids[-1] not in registered:
                    sys.exit(f"FAIL: {id_file} holds {ids[-1]}, registered: {list(registered)}")
                inventory = registered[ids[-1]].get("inventory", {})
                cores = inventory.get("cpu_cores", inventory.get("cpuCores"))
                if cores != 1:
                    sys.exit(f"FAIL: the worker offers {cores} cores, not SLURM_CPUS_PER_TASK=1")
                # Slurm's --signal=B:TERM@...: the batch shell only.
                job.send_signal(signal.SIGTERM)
                code = job.wait(timeout=DEADLINE_S)
                log = open(test.path("job-3.log"), encoding="utf-8").read()
                if code != 0:
                    sys.exit(f"FAIL: the job exited {code} after SIGTERM:\n{log}")
                if "SIGTERM, draining the worker" not in log:
                    sys.exit(f"FAIL: the batch shell did not pass SIGTERM on:\n{log}")
            if ids[0] != ids[1]:
                sys.exit(f"FAIL: the resubmitted job registered as {ids[1]}, not {ids[0]}")
            if len(test.workers()) != 1:
                sys.exit(f"FAIL: workers after two jobs on one index: {test.workers()}")
        finally:
            coordinator.terminate()
            coordinator.wait(timeout=DEADLINE_S)
    print("the sbatch worker registers over TLS, drains on SIGTERM and keeps its id")


if __name__ == "__main__":
    main()
