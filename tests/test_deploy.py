"""deploy/: the nginx config is what deploy/serve.py generates, nginx accepts it, and the
Kubernetes manifest carries the same settings. (The browser test of the running proxy is
tests/browser/test_deploy_browser.py.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy"))
import serve  # noqa: E402


def test_shipped_nginx_conf_is_the_generated_one():
    ports = [serve.FIRST_REPLICA_PORT, serve.FIRST_REPLICA_PORT + 1]
    shipped = (ROOT / "deploy" / "nginx.conf").read_text()
    assert shipped == serve.nginx_config(ports, serve.DEFAULT_PORT), (
        "deploy/nginx.conf is stale: python deploy/serve.py --print-config > deploy/nginx.conf"
    )


def test_config_pins_a_visitor_to_every_replica():
    conf = serve.nginx_config([9001, 9002, 9003], 9000)
    for i, port in enumerate((9001, 9002, 9003), start=1):
        block = re.search(rf"upstream digitnet_r{i} \{{(.*?)\}}", conf, re.S)[1]
        primary, *backups = [line.strip() for line in block.strip().splitlines()]
        assert primary.startswith(f"server 127.0.0.1:{port} max_fails=1")
        assert sorted(backups) == sorted(
            f"server 127.0.0.1:{p} backup;" for p in (9001, 9002, 9003) if p != port
        )
        assert f"r{i} digitnet_r{i};" in conf  # the cookie names it
        assert rf'"~(^|\s)127\.0\.0\.1:{port}$" r{i};' in conf  # ...and its answers set it
    assert "least_conn;" in conf
    assert "listen 127.0.0.1:9000;" in conf


@pytest.mark.skipif(serve.nginx_binary() is None, reason="nginx is not installed")
def test_nginx_accepts_the_config(tmp_path):
    for sub in ("logs", "tmp"):
        (tmp_path / sub).mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(serve.nginx_config([9001, 9002], 9000))
    out = subprocess.run(
        [serve.nginx_binary(), "-t", "-p", str(tmp_path), "-e", "stderr", "-c", str(conf)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "test is successful" in out.stderr


def test_kubernetes_manifest_follows_the_proxy():
    k8s = (ROOT / "deploy" / "kubernetes.yaml").read_text()
    conf = (ROOT / "deploy" / "nginx.conf").read_text()

    def annotation(name: str) -> str:
        return re.search(rf'nginx\.ingress\.kubernetes\.io/{name}: "([^"]*)"', k8s)[1]

    assert annotation("affinity") == "cookie"
    assert annotation("session-cookie-name") == serve.COOKIE
    assert annotation("proxy-body-size") == f"{serve.MAX_BODY_MB}m"
    assert f"client_max_body_size {serve.MAX_BODY_MB}m;" in conf
    for name in ("proxy-read-timeout", "proxy-send-timeout"):
        assert annotation(name) == str(serve.READ_TIMEOUT_S)
    assert f"proxy_read_timeout {serve.READ_TIMEOUT_S}s;" in conf
    assert annotation("proxy-connect-timeout") == str(serve.CONNECT_TIMEOUT_S)
    assert annotation("proxy-request-buffering") == "off"
    assert "proxy_request_buffering off;" in conf
    assert k8s.count("path: /_stcore/health") == 2  # readiness and liveness
    assert re.search(r"^\s+replicas: 2$", k8s, re.M)
    assert "sessionAffinity: ClientIP" in k8s
    assert "STREAMLIT_SERVER_COOKIE_SECRET" in k8s  # one XSRF secret for every replica
    # the app's memory budget sits under the pod's limit
    limit = int(re.search(r"limits: \{memory: (\d+)Mi\}", k8s)[1])
    budget = int(re.search(r'DIGITNET_SERVER_MEMORY_MB, value: "(\d+)"', k8s)[1])
    assert budget < limit
    # the app's upload cap fits under the proxy's body cap
    max_upload = re.search(
        r"^maxUploadSize = (\d+)", (ROOT / ".streamlit" / "config.toml").read_text(), re.M
    )
    assert int(max_upload[1]) < serve.MAX_BODY_MB
