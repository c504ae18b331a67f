"""Signed evidence (issue 10.7): manifest.json.sig, an SSH signature an auditor checks with ssh-keygen.

`--sign-key PATH` (an Ed25519 private key as `ssh-keygen -t ed25519` writes it) signs the bytes
of manifest.json; the manifest holds the SHA-256 of every other file, so the signature covers the
whole bundle. The signature is the format of `ssh-keygen -Y sign -n bbws-evidence` (PROTOCOL.sshsig),
so, without the suite:

    echo "auditor $(cat bbws-evidence.pub)" > allowed_signers
    ssh-keygen -Y verify -f allowed_signers -I auditor -n bbws-evidence -s manifest.json.sig < manifest.json

A signature is read exactly as `ssh-keygen -Y verify` reads it (OpenSSH sshsig.c): the armor must begin the
file and text after its END line is ignored; the blob is the magic, a version no greater than 1, the signer's
key, the namespace, a reserved string, the hash (sha256 or sha512) and the signature, and nothing after it; the
signature is `ssh-ed25519` and 64 bytes, and nothing after them. Whatever ssh-keygen refuses, this refuses.
Keys (the signing key, pinned public keys, allowed_signers) are loaded in checks.evidence.keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from checks.evidence.keys import NAMESPACE, Signer, blob, fingerprint

SIGNATURE = "manifest.json.sig"
_MAGIC = b"SSHSIG"
_VERSION = 1
_HASH = "sha512"
_BEGIN, _END = "-----BEGIN SSH SIGNATURE-----", "-----END SSH SIGNATURE-----"
MAX_SIGNATURE_BYTES = 64 * 1024
__all__ = ["NAMESPACE", "SIGNATURE", "SigningError", "fingerprint", "sign", "sign_bundle", "verify", "verify_bundle"]


class SigningError(Exception):
    """A signature does not verify; the message says why."""


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _read_string(buf: bytes, at: int) -> tuple[bytes, int]:
    if at + 4 > len(buf):
        raise SigningError("is truncated")
    (n,) = struct.unpack(">I", buf[at:at + 4])
    if at + 4 + n > len(buf):
        raise SigningError("is truncated")
    return buf[at + 4:at + 4 + n], at + 4 + n


def _signed_data(namespace: bytes, reserved: bytes, hash_alg: bytes, message: bytes) -> bytes:
    digest = (hashlib.sha512 if hash_alg == b"sha512" else hashlib.sha256)(message).digest()
    return _MAGIC + _string(namespace) + _string(reserved) + _string(hash_alg) + _string(digest)


def sign(message: bytes, key: Ed25519PrivateKey, namespace: str = NAMESPACE) -> str:
    """The armored SSH signature of `message` (what `ssh-keygen -Y sign -n <namespace>` writes)."""
    sig = key.sign(_signed_data(namespace.encode(), b"", _HASH.encode(), message))
    data = (_MAGIC + struct.pack(">I", _VERSION) + _string(blob(key.public_key()))
            + _string(namespace.encode()) + _string(b"") + _string(_HASH.encode())
            + _string(_string(b"ssh-ed25519") + _string(sig)))
    b64 = base64.b64encode(data).decode()
    return "\n".join([_BEGIN, *(b64[i:i + 70] for i in range(0, len(b64), 70)), _END]) + "\n"


@dataclass(frozen=True)
class Parsed:
    public: bytes  # the signer's key blob
    namespace: bytes
    reserved: bytes
    hash_alg: bytes
    raw: bytes  # the Ed25519 signature


def dearmor(armored: str) -> bytes:
    """The blob between the armor lines; the armor must begin the text, what follows END is ignored."""
    if not armored.startswith(_BEGIN + "\n"):
        raise SigningError("is not an SSH signature (it does not begin with the BEGIN SSH SIGNATURE line)")
    body, found, _ = armored[len(_BEGIN) + 1:].partition(_END)
    if not found:
        raise SigningError("is not an SSH signature (no END SSH SIGNATURE line)")
    try:
        return base64.b64decode("".join(body.split()), validate=True)
    except (ValueError, binascii.Error):
        raise SigningError("is not valid base64") from None


def parse(armored: str) -> Parsed:
    """The signature's fields, consumed exactly: trailing data anywhere is refused, as ssh-keygen does."""
    data = dearmor(armored)
    if data[:6] != _MAGIC or len(data) < 10:
        raise SigningError("is not an SSHSIG signature")
    if struct.unpack(">I", data[6:10])[0] > _VERSION:
        raise SigningError(f"has SSHSIG version {struct.unpack('>I', data[6:10])[0]}, above the supported 1")
    public, at = _read_string(data, 10)
    namespace, at = _read_string(data, at)
    reserved, at = _read_string(data, at)
    hash_alg, at = _read_string(data, at)
    signature, at = _read_string(data, at)
    if at != len(data):
        raise SigningError("has trailing data after the signature")
    kind, at = _read_string(signature, 0)
    raw, at = _read_string(signature, at)
    if at != len(signature):
        raise SigningError("has trailing data inside the signature")
    if kind != b"ssh-ed25519" or len(raw) != 64:
        raise SigningError("is not an Ed25519 signature")
    return Parsed(public, namespace, reserved, hash_alg, raw)


def verify_signed(message: bytes, armored: str, signers: Sequence[Signer], namespace: str = NAMESPACE) -> Signer:
    """The pinned signer whose key signed `message`; SigningError (saying why, without the file name) otherwise."""
    sig = parse(armored)
    if sig.namespace != namespace.encode():
        raise SigningError(f"has namespace {sig.namespace.decode(errors='replace')!r}, expected {namespace!r}")
    if sig.hash_alg not in (b"sha512", b"sha256"):
        raise SigningError(f"uses an unknown hash {sig.hash_alg.decode(errors='replace')!r}")
    signer = next((s for s in signers if s.blob == sig.public), None)
    if signer is None:
        pins = ", ".join(s.fingerprint for s in signers)
        raise SigningError(f"was not made by the verify key {pins}" if len(signers) == 1 else
                           f"was not made by any pinned key ({pins})")
    try:
        signer.key.verify(sig.raw, _signed_data(sig.namespace, sig.reserved, sig.hash_alg, message))
    except InvalidSignature:
        what = "manifest.json: the bundle" if namespace == NAMESPACE else "the file it signs: it"
        raise SigningError(f"does not match {what} was modified after it was signed by {signer.fingerprint}") from None
    return signer


def verify(message: bytes, armored: str, key: Ed25519PublicKey, namespace: str = NAMESPACE) -> None:
    """Raise SigningError unless `armored` signs `message` with `key` in `namespace`."""
    verify_signed(message, armored, [Signer(principal="", key=key)], namespace)


def sign_bundle(bundle: Path, key: Ed25519PrivateKey) -> Path:
    """Write <bundle>/manifest.json.sig over the manifest's bytes as written."""
    from checks.evidence.bundle import MANIFEST, write_bytes

    path = bundle / SIGNATURE
    write_bytes(path, sign((bundle / MANIFEST).read_bytes(), key).encode())
    return path


def verify_bundle(bundle: Path, signers: Ed25519PublicKey | Sequence[Signer]) -> Signer:
    """The pinned signer of the bundle; SigningError, one line naming manifest.json.sig, unless it is signed by one."""
    from checks.evidence.bundle import MANIFEST

    if isinstance(signers, Ed25519PublicKey):
        signers = [Signer(principal="", key=signers)]
    path = bundle / SIGNATURE
    if path.is_symlink():
        raise SigningError(f"{SIGNATURE} is a symlink; refusing it")
    if not path.is_file():
        raise SigningError(f"{SIGNATURE} is missing: the bundle is not signed, and a pinned key requires a "
                           "signed bundle")
    if path.stat().st_size > MAX_SIGNATURE_BYTES:
        raise SigningError(f"{SIGNATURE} is too large to be a signature")
    try:
        return verify_signed((bundle / MANIFEST).read_bytes(), path.read_text(encoding="ascii"), signers)
    except UnicodeDecodeError:
        raise SigningError(f"the signature {SIGNATURE} is not an SSH signature (not ASCII)") from None
    except SigningError as exc:
        raise SigningError(f"the signature {SIGNATURE} {exc}") from None
