"""flopwise-coordinator refuses to serve a non-loopback address without TLS
unless --allow-insecure (docs/operations.md, "TLS"): the refusal comes before
anything is bound or written, so the test binds nothing but loopback."""
import argparse
import os
import subprocess
import sys
import tempfile

EXPECTED = ("flopwise-coordinator: listen: {} is not a loopback address and TLS is off, so "
            "tokens would cross the network in clear text; set --tls-cert and --tls-key, "
            "listen on 127.0.0.1, or pass --allow-insecure\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    args = parser.parse_args()
    failures = []
    with tempfile.TemporaryDirectory(prefix="flopwise-listen-") as d:
        for role in ("client", "worker"):
            path = os.path.join(d, f"{role}.token")
            with open(path, "w", encoding="utf-8") as f:
                f.write(f"{role}-token-0123456789\n")
            os.chmod(path, 0o600)
        db = os.path.join(d, "flopwise.db")
        for listen in ("0.0.0.0:7450", "[::]:7450", "192.0.2.1:7450"):
            result = subprocess.run(
                [os.path.join(args.bin, "flopwise-coordinator"), "--listen", listen, "--db", db,
                 "--client-token-file", os.path.join(d, "client.token"),
                 "--worker-token-file", os.path.join(d, "worker.token")],
                capture_output=True, text=True, timeout=30)
            if result.returncode != 1 or result.stderr != EXPECTED.format(listen):
                failures.append(f"--listen {listen}: exit {result.returncode}, stderr {result.stderr!r}")
        if os.path.exists(db):
            failures.append("a refused coordinator created its database")
    for failure in failures:
        print("FAIL: " + failure, file=sys.stderr)
    if failures:
        sys.exit(1)
    print("non-loopback addresses without TLS are refused before anything is bound")


if __name__ == "__main__":
    main()
