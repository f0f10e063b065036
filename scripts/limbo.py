"""Extract x509-limbo's server-authentication cases into tests/data/limbo/ for test_limbo.py.

x509-limbo (https://github.com/C2SP/x509-limbo, Apache-2.0) is the path-validation suite
cryptography is tested with. `verify --at` is not built yet, so only the cases whose
verdict does not depend on the time are kept: those with no validation time, and those
whose every certificate is valid both at their validation time and at extraction.

    python scripts/limbo.py ../shared/data/limbo/limbo-generated.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import warnings
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "limbo" / "server-now.json"
FIELDS = (
    "id",
    "description",
    "features",
    "trusted_certs",
    "untrusted_intermediates",
    "peer_certificate",
    "validation_time",
    "expected_result",
    "expected_peer_name",
    "max_chain_depth",
    "key_usage",
    "extended_key_usage",
)


def valid_now(case: dict[str, Any], now: datetime.datetime) -> bool:
    from cryptography import x509

    if case["validation_time"] is None:
        return True
    at = datetime.datetime.fromisoformat(case["validation_time"])
    pems = [*case["trusted_certs"], *case["untrusted_intermediates"], case["peer_certificate"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # limbo's certificates break rules on purpose
        certs = [x509.load_pem_x509_certificate(pem.encode()) for pem in pems]
    times = (at, now)
    return all(c.not_valid_before_utc <= t <= c.not_valid_after_utc for c in certs for t in times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("limbo", type=Path, help="limbo.json (or limbo-generated.json)")
    args = parser.parse_args()
    now = datetime.datetime.now(datetime.timezone.utc)
    cases = json.loads(args.limbo.read_text())["testcases"]
    kept = [
        {key: case[key] for key in FIELDS}
        for case in cases
        if case["validation_kind"] == "SERVER" and valid_now(case, now)
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"source": args.limbo.name, "testcases": kept}, indent=1) + "\n")
    print(f"{len(kept)} of {len(cases)} cases written to {OUT}")


if __name__ == "__main__":
    main()
