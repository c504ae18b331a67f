"""The keys of signed evidence: the signing key, a pinned public key, and an allowed_signers file.

Every failure to load one is a KeyError_ with one line naming the option, the file and what to give instead:
a private key where a public one is wanted (or the reverse), an allowed_signers file given as one key, an RSA
or ECDSA key (the suite signs with Ed25519 only), a passphrase-protected key without $BBWS_SIGN_KEY_PASSPHRASE
or with the wrong one. The caller makes it a usage error (exit 4).

allowed_signers is ssh-keygen's format (ssh-keygen(1), ALLOWED SIGNERS): `principals [options] keytype key
[comment]` per line, parsed once for the whole suite by checks.evidence.allowed_signers: `namespaces="..."`
(patterns) must match bbws-evidence when present, `valid-after`/`valid-before` are honoured against the current
time, `cert-authority` lines and keys other than ssh-ed25519 cannot have made a suite signature and are skipped.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from checks.evidence import allowed_signers as signers_file

NAMESPACE = "bbws-evidence"
PASSPHRASE_VAR = "BBWS_SIGN_KEY_PASSPHRASE"
MAX_KEY_BYTES = 64 * 1024
_KEY_TYPE = re.compile(r"(?:ssh-|ecdsa-|sk-|rsa-sha2-)[A-Za-z0-9@._-]+")


class KeyError_(Exception):  # noqa: N801  (not the builtin KeyError)
    """A key cannot be used; the message is one line saying which, why and what to give instead."""


def blob(key: Ed25519PublicKey) -> bytes:
    """The SSH wire form of an Ed25519 public key (what a signature names its signer by)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b"".join(struct.pack(">I", len(p)) + p for p in (b"ssh-ed25519", raw))


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA256:... as `ssh-keygen -l` prints it."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob(key)).digest()).decode().rstrip("=")


@dataclass(frozen=True)
class Signer:
    """A pinned key and who it is (the principals of its allowed_signers line, or the --verify-key file)."""
    principal: str
    key: Ed25519PublicKey

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)

    @property
    def blob(self) -> bytes:
        return blob(self.key)


def _read(path: Path, option: str) -> bytes:
    try:
        if not path.is_file():
            raise KeyError_(f"{option} {path}: no such file")
        if path.stat().st_size > MAX_KEY_BYTES:
            raise KeyError_(f"{option} {path}: too large to be a key")
        return path.read_bytes()
    except OSError as exc:
        raise KeyError_(f"{option} {path}: cannot read it: {exc.strerror or exc}") from None


def _is_private(data: bytes) -> bool:
    return b"PRIVATE KEY-----" in data[:200]


def load_private(path: Path, option: str = "--sign-key") -> Ed25519PrivateKey:
    """An OpenSSH Ed25519 private key; a passphrase, if it has one, from $BBWS_SIGN_KEY_PASSPHRASE."""
    path = Path(path)
    data = _read(path, option)
    if not _is_private(data):
        kind = "this is a public key" if _KEY_TYPE.match(data.strip().decode("ascii", "replace")) else "no key in it"
        raise KeyError_(f"{option} {path}: not a usable OpenSSH private key ({kind}); give the private key "
                        "(ssh-keygen -t ed25519 writes it beside its .pub)")
    passphrase = os.environ.get(PASSPHRASE_VAR)
    try:
        try:
            key = serialization.load_ssh_private_key(data, password=None)
        except TypeError:  # encrypted: "Key is password-protected, but password was not provided."
            if not passphrase:
                raise KeyError_(f"{option} {path}: the key is passphrase-protected; set {PASSPHRASE_VAR} to its "
                                "passphrase") from None
            try:
                key = serialization.load_ssh_private_key(data, password=passphrase.encode())
            except ValueError:
                raise KeyError_(f"{option} {path}: the passphrase in {PASSPHRASE_VAR} does not decrypt the "
                                "key") from None
    except KeyError_:
        raise
    except ValueError as exc:
        raise KeyError_(f"{option} {path}: not a usable OpenSSH private key ({exc})") from None
    except Exception as exc:  # noqa: BLE001  (e.g. UnsupportedAlgorithm: any key it cannot load is one line)
        raise KeyError_(f"{option} {path}: cannot load the key ({type(exc).__name__}: {exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyError_(f"{option} {path}: an Ed25519 key is required (ssh-keygen -t ed25519), this is "
                        f"{type(key).__name__.removeprefix('_')}")
    return key


def _public_of(text: str, where: str) -> tuple[str, Ed25519PublicKey]:
    """(key type, key) of `keytype base64 [comment]`; KeyError_ for another type or a malformed key."""
    kind, _, rest = text.strip().partition(" ")
    if kind != "ssh-ed25519":
        raise KeyError_(f"{where}: an ssh-ed25519 public key is required, this is {kind}")
    try:
        key = serialization.load_ssh_public_key(f"{kind} {rest.split()[0] if rest.split() else ''}".encode())
    except Exception as exc:  # noqa: BLE001  (ValueError, UnsupportedAlgorithm: one line)
        raise KeyError_(f"{where}: not a valid ssh-ed25519 public key ({exc})") from None
    assert isinstance(key, Ed25519PublicKey)
    return kind, key


def load_public(path: Path, option: str = "--verify-key") -> Ed25519PublicKey:
    """One `ssh-ed25519 AAAA... comment` public key (the .pub of the signing key)."""
    path = Path(path)
    data = _read(path, option)
    where = f"{option} {path}"
    if _is_private(data):
        raise KeyError_(f"{where}: this is a private key; give its public half (the .pub file), and keep the "
                        "private key with its owner")
    lines = [ln for ln in data.decode("utf-8", "replace").splitlines() if ln.strip() and not ln.startswith("#")]
    if not lines:
        raise KeyError_(f"{where}: empty; give an ssh-ed25519 public key")
    first = lines[0].split()
    if not _KEY_TYPE.fullmatch(first[0]):
        if any(_KEY_TYPE.fullmatch(t) for t in first[1:]):
            raise KeyError_(f"{where}: this is an allowed_signers file (principals before the key), not one key; "
                            "give the signer's .pub, or pass the file to the evidence index's --allowed-signers")
        raise KeyError_(f"{where}: not an OpenSSH public key")
    return _public_of(lines[0], where)[1]


def load_allowed_signers(path: Path, option: str = "--allowed-signers",
                         now: dt.datetime | None = None, required: bool = True) -> list[Signer]:
    """The ssh-ed25519 keys an allowed_signers file allows for namespace bbws-evidence now, each with its principals
    (`required`: none is an error; else a file of approval keys only pins nothing). The file is read by
    checks.evidence.allowed_signers, as the recorded approvals read it."""
    path = Path(path)
    data = _read(path, option)
    if _is_private(data):
        raise KeyError_(f"{option} {path}: this is a private key, not an allowed_signers file")
    where = f"{option} {path}"
    try:
        lines = signers_file.parse(data.decode("utf-8", "replace"), where)
    except signers_file.AllowedSignersError as exc:
        raise KeyError_(str(exc)) from None
    when = now or dt.datetime.now(dt.UTC)
    signers = [Signer(principal=",".join(line.principals), key=_ed25519_of(line.key, f"{where}:{line.line}"))
               for line in lines if line.key.startswith(_ED25519) and line.valid_for(NAMESPACE, when)]
    if not signers and required:
        raise KeyError_(f"{option} {path}: no ssh-ed25519 key in it is valid for namespace {NAMESPACE} now")
    return signers


_ED25519 = struct.pack(">I", 11) + b"ssh-ed25519"  # how an Ed25519 key blob begins


def _ed25519_of(key_blob: bytes, where: str) -> Ed25519PublicKey:
    raw = key_blob[len(_ED25519):]
    if len(raw) != 36 or struct.unpack(">I", raw[:4])[0] != 32:
        raise KeyError_(f"{where}: not a valid ssh-ed25519 public key")
    return Ed25519PublicKey.from_public_bytes(raw[4:])


def pinned(verify_key: Path | None = None, allowed_signers: Path | None = None) -> list[Signer] | None:
    """The pinned keys the options name (None: none given, digests are checked but no signature)."""
    keys: list[Signer] = []
    if verify_key is not None:
        keys.append(Signer(principal=Path(verify_key).name, key=load_public(Path(verify_key))))
    if allowed_signers is not None:
        keys += load_allowed_signers(Path(allowed_signers), required=False)
    return keys or None


def describe(signers: Sequence[Signer]) -> str:
    return ", ".join(f"{s.principal} {s.fingerprint}" for s in signers)
