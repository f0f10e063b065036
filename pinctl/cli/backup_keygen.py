"""`pinctl backup-keygen`: spare key pairs whose pins become the backup pins."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from pinctl.cli.common import (
    CONTEXT_SETTINGS,
    Outcome,
    audit_log_option,
    journal,
    output_option,
    passphrase_options,
    pin_file_option,
)
from pinctl.errors import UsageError
from pinctl.pki.keygen import KEY_TYPES, MAX_COUNT, WEAK_KEY_TYPES

if TYPE_CHECKING:
    from pinctl.pinfile.backups import BackupRecorder


class KeyTypeChoice(click.Choice):  # type: ignore[type-arg]  # click 8.2+ made Choice generic
    """Names a weak type as weak, rather than as merely unknown."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        reason = WEAK_KEY_TYPES.get(str(value).lower())
        if reason is not None:
            self.fail(f"{value} is {reason}; use ec-p256 (the default) or rsa-3072", param, ctx)
        return super().convert(value, param, ctx)


@click.command(context_settings=CONTEXT_SETTINGS)
@click.option(
    "--type",
    "key_type",
    type=KeyTypeChoice(KEY_TYPES, case_sensitive=False),
    default="ec-p256",
    show_default=True,
    help="Key algorithm and size.",
)
@click.option(
    "--count",
    type=click.IntRange(1, MAX_COUNT),
    default=2,
    show_default=True,
    help="How many key pairs to generate.",
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Where to write the keys (created with mode 0700 if missing).",
)
@click.option(
    "--prefix",
    default="backup",
    show_default=True,
    help="File names are PREFIX-N.key.pem, PREFIX-N.pub.pem, PREFIX-N.csr.pem.",
)
@passphrase_options
@click.option("--no-encrypt", is_flag=True, help="Write the private keys unencrypted.")
@click.option("--csr", is_flag=True, help="Also write a CSR signed by each key.")
@click.option(
    "--subject",
    metavar='"CN=...,O=..."',
    help="The CSR subject: CN, O, OU, C, ST, L, emailAddress.",
)
@click.option(
    "--san",
    "sans",
    metavar="DNS:NAME|IP:ADDR",
    multiple=True,
    help="A subjectAltName for the CSR; repeat for several.",
)
@click.option("--host", metavar="H[:PORT]", help="Add the pins to this host in the pin file.")
@click.option(
    "--create-host", is_flag=True, help="Let --host name a host the pin file does not have yet."
)
@pin_file_option
@audit_log_option
@output_option("table", "json", "pins")
def command(
    key_type: str,
    count: int,
    out_dir: str,
    prefix: str,
    passphrase_file: str | None,
    passphrase_env: str | None,
    no_encrypt: bool,
    csr: bool,
    subject: str | None,
    sans: tuple[str, ...],
    host: str | None,
    create_host: bool,
    pin_file: str,
    audit_log: str | None,
    output: str,
) -> Outcome:
    """Generate spare key pairs whose pins serve as backup pins.

    Private keys are PKCS#8, encrypted with a passphrase (read from a file,
    an environment variable or, on a terminal, asked twice), mode 0600.
    Nothing is ever overwritten, and a run that fails leaves no files.
    Keep the keys offline or in an HSM until a backup is promoted.

    \b
    Examples:
      pinctl backup-keygen --out-dir keys --passphrase-file pass.txt
      pinctl backup-keygen --type rsa-3072 --count 1 --host api.example.com
      pinctl backup-keygen --csr --subject "CN=api.example.com,O=Example" \\
          --san DNS:api.example.com --out-dir keys
    """
    from pinctl.output.keygen import RENDERERS, progress
    from pinctl.pki import keygen
    from pinctl.pki.csr import csr_spec
    from pinctl.pki.passphrase import read_passphrase

    if no_encrypt and (passphrase_file or passphrase_env):
        raise UsageError("--no-encrypt and a passphrase source contradict each other; pick one")
    if csr != (subject is not None) or (sans and not csr):
        raise UsageError("--csr needs --subject, and --subject and --san need --csr")

    def ask() -> bytes | None:
        return read_passphrase(
            passphrase_file,
            passphrase_env,
            confirm=True,
            required=True,
            prompt="Passphrase for the new keys: ",
            alternative="--no-encrypt",
        )

    request = keygen.KeygenRequest(
        key_type=cast("keygen.KeyType", key_type),  # click.Choice returns the listed spelling
        count=count,
        out_dir=Path(out_dir),
        prefix=prefix,
        csr=None if subject is None else csr_spec(subject, sans),
    )
    if create_host and host is None:
        raise UsageError("--create-host goes with --host H")
    record = _recorder(host, Path(pin_file), create_host, audit_log) if host else None
    with progress(request.key_type) as report:
        result = keygen.generate_backup_keys(
            request, None if no_encrypt else ask, progress=report, record=record
        )
    return Outcome(result, RENDERERS[output])


def _recorder(host: str, pin_file: Path, create: bool, audit_log: str | None) -> BackupRecorder:
    """Where --host's pins go; the pin file and the host are checked now, before any key
    is made."""
    from pinctl.pinfile.backups import BackupRecorder

    recorder = BackupRecorder(pin_file, host, create, journal(audit_log))
    recorder.check()
    return recorder
