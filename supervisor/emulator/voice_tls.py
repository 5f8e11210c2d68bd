"""A throwaway certificate authority for the emulator's voice server.

discord.py dials voice at `wss://{endpoint}/?v=8`, whatever scheme the endpoint carries, so a local voice server
must speak TLS with a certificate the bot process trusts. Every emulator makes its own CA (an EC key that lives
only in memory and in a private temporary folder), signs a server certificate for 127.0.0.1 with it, and hands
out the CA certificate: the bots trust that one CA in addition to the system's (supervisor.runtime.tls), never
instead of it, and nothing is installed on the machine.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = dt.timedelta(days=2)  # a test run or a sandbox session; clocks a little off still pass


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "discord-supervisor emulator"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _ca(now: dt.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("discord-supervisor emulator throwaway CA")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _server(ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, host: str,
            now: dt.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host)),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


@dataclass
class VoiceTls:
    """The CA and server certificate of one emulator, as files in a private folder removed by `close()`."""

    folder: Path
    ca_pem: bytes

    @property
    def ca_file(self) -> Path:
        """The CA certificate (PEM): what the bots' process must trust (`--ca-file`, `DISCORD_CA_FILE`)."""
        return self.folder / "ca.pem"

    @classmethod
    def create(cls, host: str = "127.0.0.1") -> VoiceTls:
        now = dt.datetime.now(dt.UTC)
        ca_key, ca = _ca(now)
        key, cert = _server(ca_key, ca, host, now)
        folder = Path(tempfile.mkdtemp(prefix="emulator-voice-tls-"))  # mode 0700: the key stays private
        ca_pem = ca.public_bytes(serialization.Encoding.PEM)
        (folder / "ca.pem").write_bytes(ca_pem)
        (folder / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM) + ca_pem)
        (folder / "server.key").write_bytes(_pem_key(key))
        return cls(folder, ca_pem)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # no client certificates: no CA store to load
        context.load_cert_chain(self.folder / "server.pem", self.folder / "server.key")
        return context

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
