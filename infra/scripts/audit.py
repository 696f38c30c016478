"""`make audit`: pip-audit over requirements.lock (the exact pins `make` installs) against a vulnerability
database, with an honest verdict:

- every pin audited, none vulnerable -> exit 0;
- a known vulnerability -> the list, exit 1;
- no vulnerability database reachable, or it knows none of the pins (an offline machine or a mirror
  without the advisory API: pip-audit itself then says "No known vulnerabilities found") ->
  "NOT AUDITED", exit 3. Some pins unknown -> they are named and the exit is 3 too.

    python infra/scripts/audit.py [--lock requirements.lock] [--service pypi|osv] [--timeout 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_AUDITED = 3


def audit(lock: Path, service: str, timeout: int, pip_audit: str) -> tuple[int, str]:
    """(exit code, the report's lines)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "audit.json"
        cmd = [
            pip_audit,
            "-r",
            str(lock),
            "--no-deps",
            "--disable-pip",
            "--progress-spinner",
            "off",
            "-s",
            service,
            "--timeout",
            str(timeout),
            "-f",
            "json",
            "-o",
            str(out),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603 (fixed argv)
        if not out.is_file():
            first = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return NOT_AUDITED, (
                f"audit: NOT AUDITED: pip-audit could not query the {service} vulnerability database ({first})"
            )
        report = json.loads(out.read_text(encoding="utf-8"))
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    audited = [d for d in deps if not d.get("skip_reason")]
    vulnerable = [d for d in audited if d.get("vulns")]
    if not audited:
        return NOT_AUDITED, (
            f"audit: NOT AUDITED: no vulnerability database is reachable: the {service} service "
            f"knew none of the {len(deps)} pins in {lock.name} (offline, or a mirror without the "
            "advisory API); run `make audit` where pypi.org or osv.dev answers"
        )
    lines = [f"audit: {len(audited)} of {len(deps)} pins in {lock.name} checked against {service}"]
    for d in vulnerable:
        ids = ", ".join(
            v.get("id", "?") + (f" (fixed in {', '.join(v['fix_versions'])})" if v.get("fix_versions") else "")
            for v in d["vulns"]
        )
        lines.append(f"  VULNERABLE {d['name']} {d['version']}: {ids}")
    if skipped:
        lines.append(f"  NOT AUDITED ({len(skipped)}): " + ", ".join(d["name"] for d in skipped))
    if vulnerable:
        return 1, "\n".join(lines)
    if skipped:
        return NOT_AUDITED, "\n".join(lines)
    lines.append("  no known vulnerabilities")
    return 0, "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lock", type=Path, default=ROOT / "requirements.lock")
    p.add_argument("--service", choices=("pypi", "osv"), default="pypi")
    p.add_argument("--timeout", type=int, default=10)
    p.add_argument("--pip-audit", default=str(Path(sys.executable).with_name("pip-audit")))
    a = p.parse_args(argv)
    code, text = audit(a.lock, a.service, a.timeout, a.pip_audit)
    print(text, file=sys.stderr if code else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main())
