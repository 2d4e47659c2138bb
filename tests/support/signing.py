"""A locally generated Amazon-like certificate chain for signing test requests.

Production trusts only the operating system's roots; tests inject this root into the
verifier, so the real signature, chain, usage and SAN checks all run.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

CERT_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert-test.pem"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _cert(
    subject: str,
    key: rsa.RSAPrivateKey,
    issuer: str,
    issuer_key: rsa.RSAPrivateKey,
    *,
    ca: bool,
    san: str | None = None,
    not_after: datetime | None = None,
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=not ca,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if san:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class SigningChain:
    root_pem: bytes
    chain_pem: bytes
    leaf_key: rsa.RSAPrivateKey

    def sign(self, body: bytes) -> dict[str, str]:
        """The two headers Alexa sends with a request body."""
        signature = self.leaf_key.sign(body, padding.PKCS1v15(), hashes.SHA256())
        return {
            "SignatureCertChainUrl": CERT_URL,
            "Signature-256": base64.b64encode(signature).decode("ascii"),
        }

    def fetch(self, url: str) -> bytes:
        if url != CERT_URL:
            raise AssertionError(f"unexpected certificate URL {url}")
        return self.chain_pem


def make_chain(
    san: str = "echo-api.amazon.com", *, leaf_not_after: datetime | None = None
) -> SigningChain:
    root_key, inter_key, leaf_key = _key(), _key(), _key()
    root = _cert("Test Root CA", root_key, "Test Root CA", root_key, ca=True)
    inter = _cert("Test Intermediate CA", inter_key, "Test Root CA", root_key, ca=True)
    leaf = _cert(san, leaf_key, "Test Intermediate CA", inter_key, ca=False, san=san,
                 not_after=leaf_not_after)  # fmt: skip
    return SigningChain(_pem(root), _pem(leaf) + _pem(inter), leaf_key)
