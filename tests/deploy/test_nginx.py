"""deploy/nginx/chaski.conf passes `nginx -t` (with a throwaway certificate), and what it promises.

`nginx -t` parses the whole site, loads the certificate and key and opens the log files; it
does not bind the ports nor connect to any upstream (the 10.0.0.x replicas are never reached).
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import DEPLOY, tool

SITE = DEPLOY / "nginx" / "chaski.conf"
CERT_DIR = "/etc/letsencrypt/live/chaski.example.org"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("tls")
    subprocess.run([tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=chaski.example.org", "-keyout", str(where / "privkey.pem"),
                    "-out", str(where / "fullchain.pem")], check=True, capture_output=True, timeout=60)
    return where


def nginx_test(site_text: str, tmp_path: Path, certificate: Path) -> subprocess.CompletedProcess:
    """Run `nginx -t` on the site inside a minimal main configuration, all paths under tmp_path."""
    site = tmp_path / "chaski.conf"
    site.write_text(site_text.replace(CERT_DIR, str(certificate))
                    .replace("/var/log/nginx/", f"{tmp_path}/"), encoding="utf-8")
    main = tmp_path / "nginx.conf"
    main.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
                    f"events {{}}\nhttp {{\n    include {site};\n}}\n", encoding="utf-8")
    return subprocess.run([tool("nginx", "/usr/sbin/nginx"), "-t", "-q", "-p", str(tmp_path),
                           "-c", str(main), "-e", str(tmp_path / "error.log")],
                          capture_output=True, text=True, timeout=60)


def test_the_site_passes_nginx_t(tmp_path, certificate):
    proc = nginx_test(SITE.read_text(encoding="utf-8"), tmp_path, certificate)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("breakage", [
    ("proxy_read_timeout 12s;", "proxy_read_timeout 12s"),  # a missing semicolon
    ("proxy_pass http://chaski_web;", "proxy_pas http://chaski_web;"),  # an unknown directive
    ("ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1.2 TLSv9;"),  # a bad value
])
def test_nginx_t_fails_a_broken_site(tmp_path, certificate, breakage):
    good, bad = breakage
    text = SITE.read_text(encoding="utf-8")
    assert good in text
    assert nginx_test(text.replace(good, bad, 1), tmp_path, certificate).returncode != 0


def test_nginx_t_fails_without_the_certificate(tmp_path, certificate):
    text = SITE.read_text(encoding="utf-8").replace("fullchain.pem", "missing.pem")
    assert nginx_test(text, tmp_path, certificate).returncode != 0


def server_blocks(text: str) -> list[str]:
    """The top-level `server { ... }` blocks of the site (braces counted)."""
    blocks, depth, current = [], 0, None
    for line in text.splitlines():
        code = line.split("#", 1)[0]
        if depth == 0 and re.match(r"\s*server\s*\{", code):
            current = []
        if current is not None:
            current.append(code)
        depth += code.count("{") - code.count("}")
        if depth == 0 and current is not None:
            blocks.append("\n".join(current))
            current = None
    return blocks


def test_tls_proxy_headers_metrics_and_a_private_nlu_balancer():
    text = SITE.read_text(encoding="utf-8")
    blocks = server_blocks(text)
    public = [b for b in blocks if "listen 443 ssl" in b]
    assert len(public) == 1
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Host"):
        assert f"proxy_set_header {header} " in public[0]
    assert re.search(r"location \^~ /metrics \{\s*deny all;", public[0])
    assert "proxy_pass http://chaski_web;" in public[0]
    # Twilio waits 15 s: nginx answers before that.
    assert int(re.search(r"proxy_read_timeout (\d+)s;", public[0]).group(1)) < 15
    # The Rasa replicas: several, on private addresses, reached only through a loopback listener.
    upstream = re.search(r"upstream chaski_nlu \{(.*?)\}", text, re.S).group(1)
    replicas = re.findall(r"server (\d+\.\d+\.\d+\.\d+):\d+", upstream)
    assert len(replicas) >= 2 and all(r.startswith(("10.", "192.168.", "172.")) for r in replicas)
    [nlu] = [b for b in blocks if "chaski_nlu" in b]
    assert re.findall(r"listen ([^;]+);", nlu) == ["127.0.0.1:5105"]
    # Plain HTTP only redirects (and serves the ACME challenge).
    [plain] = [b for b in blocks if "listen 80;" in b]
    assert "return 301 https://" in plain and "proxy_pass" not in plain
