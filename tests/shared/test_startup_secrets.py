"""No Python process starts beyond loopback with a development secret (shared/settings.py),
and secrets may come from ``LIAISON_<NAME>_FILE``. Real processes, as the image runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import pytest

from devstack.stack import settings_env
from shared.settings import (
    DEV_GATEWAY_SECRET,
    DEV_JWT_SECRET,
    DEV_SECRETS_KEY,
    REPO_ROOT,
    SECRET_FILE_FIELDS,
    Settings,
    UnsafeConfiguration,
    read_secret_file,
    refuse_development_secrets,
)
from tests.gateway.conftest import free_port

SECRET_VARS = [
    f"LIAISON_{name.upper()}{tail}" for name in SECRET_FILE_FIELDS for tail in ("", "_FILE")
]
A_FERNET_KEY = "ZmRmZGZkZmRmZGZkZmRmZGZkZmRmZGZkZmRmZGZkZmQ="
REAL = Settings(jwt_secret="j" * 40, gateway_secret="g" * 40, secrets_key=A_FERNET_KEY)


def _env(**extra: str) -> dict[str, str]:
    """This process's environment without any secret, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARS and k != "LIAISON_DEV"}
    env.update(extra)
    return env


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )


# -- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"])
def test_loopback_accepts_the_development_secrets(host: str) -> None:
    refuse_development_secrets(Settings(), host, "LIAISON_HOST")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "liaison-requests"])
def test_beyond_loopback_every_development_secret_is_named(host: str) -> None:
    with pytest.raises(UnsafeConfiguration) as refused:
        refuse_development_secrets(Settings(), host, "LIAISON_HOST")
    message = str(refused.value)
    for var in ("LIAISON_JWT_SECRET", "LIAISON_GATEWAY_SECRET", "LIAISON_SECRETS_KEY"):
        assert f"{var}: set it (or {var}_FILE" in message
    assert f"listens on {host} (LIAISON_HOST)" in message
    assert "LIAISON_DEV=1" in message
    refuse_development_secrets(REAL, host, "LIAISON_HOST")  # real ones: fine
    refuse_development_secrets(Settings(dev=True), host, "LIAISON_HOST")  # a development machine


def test_empty_secrets_mean_the_defaults_and_are_refused_too() -> None:
    empty = Settings(jwt_secret="", gateway_secret=" ", secrets_key="")
    assert (empty.jwt_secret, empty.gateway_secret) == (DEV_JWT_SECRET, DEV_GATEWAY_SECRET)
    with pytest.raises(UnsafeConfiguration, match="LIAISON_JWT_SECRET, LIAISON_GATEWAY_SECRET"):
        refuse_development_secrets(empty, "0.0.0.0", "LIAISON_HOST")


def test_the_jwt_secret_matters_only_while_tokens_are_hs() -> None:
    with_key = REAL.model_copy(update={"jwt_secret": DEV_JWT_SECRET, "jwt_public_key": "PEM"})
    refuse_development_secrets(with_key, "0.0.0.0", "LIAISON_HOST")
    without = REAL.model_copy(update={"jwt_secret": DEV_JWT_SECRET})
    with pytest.raises(UnsafeConfiguration, match=r"LIAISON_JWT_SECRET is empty or still"):
        refuse_development_secrets(without, "0.0.0.0", "LIAISON_HOST")


def test_the_development_key_may_stay_to_decrypt_while_a_rotation_runs() -> None:
    rotating = REAL.model_copy(update={"secrets_key": f"{A_FERNET_KEY},{DEV_SECRETS_KEY}"})
    refuse_development_secrets(rotating, "0.0.0.0", "LIAISON_HOST")
    encrypting = REAL.model_copy(update={"secrets_key": f"{DEV_SECRETS_KEY},{A_FERNET_KEY}"})
    with pytest.raises(UnsafeConfiguration, match="LIAISON_SECRETS_KEY"):
        refuse_development_secrets(encrypting, "0.0.0.0", "LIAISON_HOST")


# -- files ------------------------------------------------------------------------------------


def test_a_secret_file_is_read_with_its_trailing_newline_stripped(tmp_path: Path) -> None:
    path = tmp_path / "jwt-secret"
    path.write_text("from-a-file\r\n")
    environ = {"LIAISON_JWT_SECRET_FILE": str(path)}
    assert read_secret_file("jwt_secret", environ) == "from-a-file"
    assert read_secret_file("jwt_secret", {"LIAISON_JWT_SECRET_FILE": ""}) is None
    with pytest.raises(UnsafeConfiguration, match="both LIAISON_JWT_SECRET and LIAISON_JWT_"):
        read_secret_file("jwt_secret", {**environ, "LIAISON_JWT_SECRET": "x"})
    with pytest.raises(UnsafeConfiguration, match="LIAISON_JWT_SECRET_FILE=/nonexistent"):
        read_secret_file("jwt_secret", {"LIAISON_JWT_SECRET_FILE": "/nonexistent/jwt"})


def test_settings_read_every_secret_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in SECRET_VARS:
        monkeypatch.delenv(var, raising=False)
    for name in SECRET_FILE_FIELDS:
        (tmp_path / name).write_text(f"{name}-value\n")
        monkeypatch.setenv(f"LIAISON_{name.upper()}_FILE", str(tmp_path / name))
    settings = Settings()
    assert [getattr(settings, name) for name in SECRET_FILE_FIELDS] == [
        f"{name}-value" for name in SECRET_FILE_FIELDS
    ]


# -- real processes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        # a subgraph binding every interface, by its --host or by LIAISON_HOST
        (["-m", "shared.serve", "service", "requests", "--host", "0.0.0.0"], {}),
        (["-m", "shared.serve", "service", "requests"], {"LIAISON_HOST": "0.0.0.0"}),
        # workers and the relay serve nothing but metrics, yet hold the same secrets
        (["-m", "shared.serve", "worker", "notify"], {"LIAISON_HOST": "0.0.0.0"}),
        (["-m", "shared.serve", "relay"], {"LIAISON_HOST": "0.0.0.0", "LIAISON_METRICS_PORT": "0"}),
        (
            ["-m", "services.tasks.worker"],
            {"LIAISON_HOST": "0.0.0.0"},
        ),  # as ./liaison run starts it
    ],
    ids=["subgraph-host-flag", "subgraph-liaison-host", "worker", "relay", "worker-module"],
)
def test_a_process_beyond_loopback_with_the_defaults_refuses_to_start(
    argv: list[str], env: dict[str, str]
) -> None:
    result = _run(argv, _env(**{"LIAISON_METRICS_PORT": "0", **env}))
    assert result.returncode == 1, (result.stdout, result.stderr[-2000:])
    last = result.stderr.strip().splitlines()
    assert last[0].startswith(
        "Liaison refuses to start: LIAISON_JWT_SECRET, LIAISON_GATEWAY_SECRET,"
    )
    assert "Traceback" not in result.stderr
    assert any(line.startswith("  LIAISON_SECRETS_KEY: set it") for line in last)


def test_a_subgraph_with_secrets_from_files_starts_beyond_loopback(
    settings: Settings, tmp_path: Path
) -> None:
    files = {}
    for name, value in (
        ("jwt_secret", "jwt-secret-from-a-file-0123456789abcdef"),
        ("gateway_secret", "gateway-from-a-file"),
        ("secrets_key", A_FERNET_KEY),
    ):
        (tmp_path / name).write_text(value + "\n")
        files[f"LIAISON_{name.upper()}_FILE"] = str(tmp_path / name)
    env = {**_env(), **settings_env(settings)}
    for var in SECRET_VARS:
        env.pop(var, None)
    env.update(files, LIAISON_METRICS_PORT="0", LIAISON_LOG_FORMAT="text")
    port = free_port()
    argv = ["-m", "shared.serve", "service", "requests", "--host", "0.0.0.0", "--port", str(port)]
    log = (tmp_path / "requests.log").open("w")
    process = subprocess.Popen(
        [sys.executable, *argv], env=env, cwd=REPO_ROOT, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "requests.log").read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "requests.log").read_text()[-3000:]
            time.sleep(0.2)
        # the file's secrets are the ones in force: the gateway secret from the file passes
        headers = {"x-liaison-gateway-secret": "gateway-from-a-file"}
        response = httpx.post(
            f"http://127.0.0.1:{port}/graphql", json={"query": "{ __typename }"}, headers=headers
        )
        [error] = response.json()["errors"]  # past the secret check:
        assert error["message"] == "missing bearer token", response.text
        wrong = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": "{ __typename }"},
            headers={"x-liaison-gateway-secret": DEV_GATEWAY_SECRET},
        )
        assert "only through the gateway" in wrong.text, wrong.text
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def test_the_token_command_signs_with_the_secret_from_the_file(tmp_path: Path) -> None:
    (tmp_path / "jwt").write_text("jwt-secret-from-a-file-0123456789abcdef\n")
    (tmp_path / "gateway").write_text("gateway-from-a-file\n")
    (tmp_path / "key").write_text(A_FERNET_KEY + "\n")
    env = _env(
        LIAISON_HOST="0.0.0.0",
        LIAISON_JWT_SECRET_FILE=str(tmp_path / "jwt"),
        LIAISON_GATEWAY_SECRET_FILE=str(tmp_path / "gateway"),
        LIAISON_SECRETS_KEY_FILE=str(tmp_path / "key"),
    )
    result = _run(["-m", "devstack", "token", "zhou-pmo"], env)
    assert result.returncode == 0, result.stderr[-2000:]
    claims = jwt.decode(
        result.stdout.strip(),
        "jwt-secret-from-a-file-0123456789abcdef",
        algorithms=["HS256"],
        audience=Settings().jwt_audience,
    )
    assert claims["sub"] == "zhou-pmo"
