"""Signed evidence (issue 10.7): manifest.json.sig, an SSH signature an auditor checks with ssh-keygen.

`--sign-key PATH` (an Ed25519 private key as `ssh-keygen -t ed25519` writes it) signs the bytes
of manifest.json; the manifest holds the SHA-256 of every other file, so the signature covers the
whole bundle. The signature is the format of `ssh-keygen -Y sign -n bbws-evidence` (PROTOCOL.sshsig),
so, without the suite:

    echo "auditor $(cat bbws-evidence.pub)" > allowed_signers
    ssh-keygen -Y verify -f allowed_signers -I auditor -n bbws-evidence -s manifest.json.sig < manifest.json

`--replay DIR --verify-key PUB` refuses a bundle whose signature is missing, malformed, made by
another key or not over this manifest, with one line naming manifest.json.sig.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

NAMESPACE = "bbws-evidence"
SIGNATURE = "manifest.json.sig"
PASSPHRASE_VAR = "BBWS_SIGN_KEY_PASSPHRASE"
_MAGIC = b"SSHSIG"
_VERSION = 1
_HASH = "sha512"
_BEGIN, _END = "-----BEGIN SSH SIGNATURE-----", "-----END SSH SIGNATURE-----"
MAX_KEY_BYTES = 64 * 1024


class SigningError(Exception):
    """A key cannot be used, or a signature does not verify; the message says which and why."""


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _read_string(buf: bytes, at: int) -> tuple[bytes, int]:
    if at + 4 > len(buf):
        raise SigningError("is truncated")
    (n,) = struct.unpack(">I", buf[at:at + 4])
    if at + 4 + n > len(buf):
        raise SigningError("is truncated")
    return buf[at + 4:at + 4 + n], at + 4 + n


def _public_blob(key: Ed25519PublicKey) -> bytes:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _string(b"ssh-ed25519") + _string(raw)


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA256:... as `ssh-keygen -l` prints it."""
    digest = hashlib.sha256(_public_blob(key)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _key_text(path: Path, what: str) -> bytes:
    try:
        if not path.is_file():
            raise SigningError(f"{what} {path}: no such file")
        if path.stat().st_size > MAX_KEY_BYTES:
            raise SigningError(f"{what} {path}: too large to be a key")
        return path.read_bytes()
    except OSError as exc:
        raise SigningError(f"{what} {path}: cannot read it: {exc.strerror or exc}") from None


def load_private(path: Path) -> Ed25519PrivateKey:
    """An OpenSSH Ed25519 private key (a passphrase, if any, from $BBWS_SIGN_KEY_PASSPHRASE)."""
    data = _key_text(Path(path), "--sign-key")
    passphrase = os.environ.get(PASSPHRASE_VAR)
    try:
        key = serialization.load_ssh_private_key(data, password=passphrase.encode() if passphrase else None)
    except (ValueError, TypeError) as exc:
        raise SigningError(f"--sign-key {path}: not a usable OpenSSH private key ({exc})") from None
    except Exception as exc:  # noqa: BLE001  (e.g. an encrypted key without bcrypt installed)
        raise SigningError(f"--sign-key {path}: cannot load the key ({type(exc).__name__}: {exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"--sign-key {path}: an Ed25519 key is required (ssh-keygen -t ed25519), "
                           f"this is {type(key).__name__}")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    """An `ssh-ed25519 AAAA... comment` public key file (the .pub of the signing key)."""
    data = _key_text(Path(path), "--verify-key")
    try:
        key = serialization.load_ssh_public_key(data.strip().split(b"\n")[0])
    except (ValueError, TypeError, IndexError) as exc:
        raise SigningError(f"--verify-key {path}: not an OpenSSH public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"--verify-key {path}: an ssh-ed25519 public key is required")
    return key


def _signed_data(message: bytes, namespace: str = NAMESPACE) -> bytes:
    return (_MAGIC + _string(namespace.encode()) + _string(b"") + _string(_HASH.encode())
            + _string(hashlib.sha512(message).digest()))


def sign(message: bytes, key: Ed25519PrivateKey, namespace: str = NAMESPACE) -> str:
    """The armored SSH signature of `message` (what `ssh-keygen -Y sign -n <namespace>` writes)."""
    sig = key.sign(_signed_data(message, namespace))
    blob = (_MAGIC + struct.pack(">I", _VERSION) + _string(_public_blob(key.public_key()))
            + _string(namespace.encode()) + _string(b"") + _string(_HASH.encode())
            + _string(_string(b"ssh-ed25519") + _string(sig)))
    b64 = base64.b64encode(blob).decode()
    return "\n".join([_BEGIN, *(b64[i:i + 70] for i in range(0, len(b64), 70)), _END]) + "\n"


def verify(message: bytes, armored: str, key: Ed25519PublicKey, namespace: str = NAMESPACE) -> None:
    """Raise SigningError (saying why, without the file name) unless `armored` signs `message` with `key`."""
    expected = namespace
    lines = [ln.strip() for ln in armored.strip().splitlines()]
    if len(lines) < 3 or lines[0] != _BEGIN or lines[-1] != _END:
        raise SigningError("is not an SSH signature (no BEGIN/END SSH SIGNATURE armor)")
    try:
        blob = base64.b64decode("".join(lines[1:-1]), validate=True)
    except ValueError:
        raise SigningError("is not valid base64") from None
    if blob[:6] != _MAGIC or len(blob) < 10 or struct.unpack(">I", blob[6:10])[0] != _VERSION:
        raise SigningError("is not an SSHSIG version 1 signature")
    public, at = _read_string(blob, 10)
    namespace, at = _read_string(blob, at)
    _reserved, at = _read_string(blob, at)
    hash_alg, at = _read_string(blob, at)
    signature, at = _read_string(blob, at)
    if namespace != expected.encode():
        raise SigningError(f"has namespace {namespace.decode(errors='replace')!r}, expected {expected!r}")
    if public != _public_blob(key):
        raise SigningError(f"was not made by the verify key {fingerprint(key)}")
    if hash_alg not in (b"sha512", b"sha256"):
        raise SigningError(f"uses an unknown hash {hash_alg.decode(errors='replace')!r}")
    kind, rest = _read_string(signature, 0)
    raw, _ = _read_string(signature, rest)
    if kind != b"ssh-ed25519":
        raise SigningError("is not an Ed25519 signature")
    digest = (hashlib.sha512 if hash_alg == b"sha512" else hashlib.sha256)(message).digest()
    data = _MAGIC + _string(namespace) + _string(_reserved) + _string(hash_alg) + _string(digest)
    try:
        key.verify(raw, data)
    except InvalidSignature:
        what = "manifest.json: the bundle" if expected == NAMESPACE else "the file it signs: it"
        raise SigningError(f"does not match {what} was modified after it was signed by {fingerprint(key)}") from None


def sign_bundle(bundle: Path, key: Ed25519PrivateKey) -> Path:
    """Write <bundle>/manifest.json.sig over the manifest's bytes as written."""
    from checks.evidence.bundle import MANIFEST, write_bytes

    path = bundle / SIGNATURE
    write_bytes(path, sign((bundle / MANIFEST).read_bytes(), key).encode())
    return path


def verify_bundle(bundle: Path, key: Ed25519PublicKey) -> None:
    """Raise SigningError, one line naming manifest.json.sig, unless the bundle is signed by `key`."""
    from checks.evidence.bundle import MANIFEST

    path = bundle / SIGNATURE
    if path.is_symlink():
        raise SigningError(f"{SIGNATURE} is a symlink; refusing it")
    if not path.is_file():
        raise SigningError(f"{SIGNATURE} is missing: the bundle is not signed, and --verify-key requires a "
                           "signed bundle")
    if path.stat().st_size > MAX_KEY_BYTES:
        raise SigningError(f"{SIGNATURE} is too large to be a signature")
    try:
        verify((bundle / MANIFEST).read_bytes(), path.read_text(encoding="ascii"), key)
    except UnicodeDecodeError:
        raise SigningError(f"the signature {SIGNATURE} is not an SSH signature (not ASCII)") from None
    except SigningError as exc:
        raise SigningError(f"the signature {SIGNATURE} {exc}") from None
