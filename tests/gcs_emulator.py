"""A real GCS API server on loopback that TensorFlow, Beam and TFX all talk to, for the object-storage tests.

The server is gcp-storage-emulator (PyPI): Google Cloud Storage's JSON and XML
APIs, in memory. Python clients (google-cloud-storage, hence Beam's gs://
file system) find it through STORAGE_EMULATOR_HOST, as documented.

TensorFlow's own GCS file system (tf.io.gfile, SavedModel, tf.data, TFX's
fileio) has no emulator setting in TF 2.21: it always calls
https://www.googleapis.com and https://storage.googleapis.com through libcurl.
libcurl honours HTTPS_PROXY and TF honours CURL_CA_BUNDLE, so the tests point
HTTPS_PROXY at `TlsToEmulatorProxy` below: it accepts CONNECT, answers TLS with a
certificate for those two host names signed by a throw-away CA (given to TF as
CURL_CA_BUNDLE), and hands each HTTP request to the emulator. Nothing leaves
loopback: the proxy never connects anywhere but the emulator, and the GCE
metadata server is pointed at a closed loopback port.

This is test plumbing (a TLS terminator), not a stand-in: every byte is stored
and served by the emulator's implementation of the GCS API.
"""

from __future__ import annotations

import contextlib
import datetime
import http.client
import http.server
import json
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
from pathlib import Path

GOOGLE_HOSTS = ("www.googleapis.com", "storage.googleapis.com")
HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "expect", "te", "upgrade"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a certificate for GOOGLE_HOSTS signed by it -> (ca.pem, cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "harflow test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, GOOGLE_HOSTS[0])]))
        .issuer_name(ca_name).public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host) for host in GOOGLE_HOSTS]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    """CONNECT -> TLS with the test certificate; every request inside -> the emulator, answer back."""

    protocol_version = "HTTP/1.1"
    server_version = "harflow-test-proxy"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_CONNECT(self) -> None:
        host = self.path.split(":")[0]
        if host not in GOOGLE_HOSTS:
            self.send_error(403, f"only {GOOGLE_HOSTS} are emulated")
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        tls = self.server.tls_context.wrap_socket(self.connection, server_side=True)
        self.connection = tls
        self.rfile = tls.makefile("rb")
        self.wfile = socketserver._SocketWriter(tls)
        self.close_connection = False

    def _forward(self) -> None:
        body = self._read_body()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        path = self.path.split("://", 1)[1][self.path.split("://", 1)[1].find("/") :] if "://" in self.path else self.path
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.emulator_port, timeout=60)
        try:
            upstream.request(self.command, path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status, answer.reason)
        for key, value in answer.getheaders():
            if key.lower() in HOP_HEADERS or key.lower() == "content-length":
                continue
            if key.lower() == "location":  # the emulator names itself http://<Host>: keep the client on TLS
                value = value.replace("http://", "https://", 1)
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        if "Content-Length" not in self.headers:
            return None
        return self.rfile.read(int(self.headers["Content-Length"]))  # b"" for an empty object (a folder marker)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _forward


class _ProxyServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def _accept_empty_media_uploads() -> None:
    """gcp-storage-emulator 2026.7.19 fails a media upload of an empty object (its body reads as None, then len(None)).

    TF creates such objects as folder markers ("dir/", tf.io.gfile.makedirs), and real GCS
    stores them; so an empty media upload's body is made b"" here. Nothing else is changed.
    """
    from gcp_storage_emulator import server

    if getattr(server._read_data, "harflow_patched", False):
        return
    original = server._read_data

    def read_data(handler, query):
        data = original(handler, query)
        return b"" if data is None and query.get("uploadType") == ["media"] else data

    read_data.harflow_patched = True
    server._read_data = read_data


def start_servers(folder: Path, bucket: str):
    """Start the emulator and the proxy in this process; returns (the environment for clients, stop())."""
    from gcp_storage_emulator.server import create_server

    _accept_empty_media_uploads()
    emulator_port = free_port()
    emulator = create_server("127.0.0.1", emulator_port, in_memory=True, default_bucket=bucket)
    emulator.start()
    ca, cert, key = make_certificates(folder)
    proxy = _ProxyServer(("127.0.0.1", 0), _ProxyHandler)
    proxy.emulator_port = emulator_port
    proxy.tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    proxy.tls_context.load_cert_chain(cert, key)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    closed = free_port()  # nothing listens here: the GCE metadata server is "absent", on loopback
    environment = {
        "HTTPS_PROXY": f"http://127.0.0.1:{proxy.server_address[1]}",
        "https_proxy": f"http://127.0.0.1:{proxy.server_address[1]}",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "CURL_CA_BUNDLE": str(ca),  # TF's libcurl trusts the test CA
        "GOOGLE_AUTH_TOKEN_FOR_TESTING": "emulator",  # TF: a fixed token, no credential look-up
        "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{emulator_port}",  # google-cloud-storage, Beam
        "NO_GCE_CHECK": "True",  # google.auth: do not probe the metadata server
        "GCE_METADATA_HOST": f"127.0.0.1:{closed}",
        "GCE_METADATA_IP": f"127.0.0.1:{closed}",
        "GCS_RETRY_CONFIG_MAX_RETRIES": "2",  # TF: a failing request fails in seconds, not minutes
        "HARFLOW_TEST_BUCKET": bucket,
    }

    def stop() -> None:
        proxy.shutdown()
        proxy.server_close()
        emulator.stop()

    return environment, stop


@contextlib.contextmanager
def gcs_emulator(folder: Path, bucket: str = "harflow-test"):
    """Run the emulator and the proxy in a child process on loopback; yields the environment that points clients at them.

    A child process, because some TensorFlow calls (e.g. reading a SavedModel's
    variables) hold Python's GIL while they wait for HTTP: servers in the test's own
    process would never answer them. The caller sets the variables (os.environ, or
    env= for a subprocess) before TensorFlow first touches gs://.
    """
    child = subprocess.Popen(
        [sys.executable, __file__, str(folder), bucket], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        line = child.stdout.readline()
        if not line:
            raise RuntimeError(f"the GCS emulator did not start (exit code {child.wait()})")
        yield json.loads(line)
    finally:
        child.stdin.close()  # the child stops when its stdin closes
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


if __name__ == "__main__":
    environment, stop = start_servers(Path(sys.argv[1]), sys.argv[2])
    print(json.dumps(environment), flush=True)
    sys.stdin.read()  # until the parent closes it
    stop()
