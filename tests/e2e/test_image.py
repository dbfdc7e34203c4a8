"""The container image, without a Docker engine: the Dockerfile's own instructions, carried out.

The build stage's RUN and COPY lines run as written (with the image's absolute paths mapped
into a directory: /venv, /src, /data, /config), so the pinned install is what the image gets.
Then the final stage's ENTRYPOINT and CMD start the bot, as the USER it names, with the
config it copies in (config/docker.yaml) against the fake Discord; its HEALTHCHECK command
must pass while the bot runs; its STOPSIGNAL must stop it cleanly within Docker's 10 s grace
period; and the health check must fail once it is gone.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.e2e.harness import TOKEN
from tests.fakediscord import FakeDiscord

pytestmark = pytest.mark.slow

MAPPED = ("/venv", "/src", "/data", "/config")


@dataclass
class Stage:
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [value for key, value in self.instructions if key == keyword]

    def last(self, keyword: str) -> str | None:
        found = self.all(keyword)
        return found[-1] if found else None


def stages(dockerfile: str) -> list[Stage]:
    text = re.sub(r"\\\n\s*", " ", dockerfile)  # line continuations
    out: list[Stage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, value = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            alias = re.search(r"\bAS\s+(\w+)", value, re.IGNORECASE)
            out.append(Stage(alias.group(1) if alias else None))
        out[-1].instructions.append((keyword, value.strip()))
    return out


def exec_form(value: str) -> list[str]:
    value = re.sub(r"^(--\S+\s+)+", "", value)  # HEALTHCHECK options
    if value.startswith("CMD "):
        value = value[4:]
    return list(json.loads(value)) if value.startswith("[") else shlex.split(value)


@dataclass
class Image:
    root: Path

    def path(self, inside: str) -> str:
        """Where an absolute path of the image lives here."""
        for prefix in MAPPED:
            if inside == prefix or inside.startswith(prefix + "/"):
                return str(self.root / inside.lstrip("/"))
        return inside

    def mapped(self, value: object) -> object:
        """A config with the image's absolute paths mapped (the bot reads them)."""
        if isinstance(value, dict):
            return {k: self.mapped(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mapped(v) for v in value]
        return self.path(value) if isinstance(value, str) and value.startswith("/") else value

    def command(self, words: list[str]) -> list[str]:
        return [self.path(w) if w.startswith("/") else w for w in words]

    def shell(self, line: str) -> str:
        for prefix in MAPPED:
            line = re.sub(rf"(?<![\w/.]){re.escape(prefix)}(?=[/\s]|$)", self.path(prefix), line)
        return line


@pytest.fixture
def image_root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="newsdesk-image-"))  # other users may enter it
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def build(image: Image, stage: Stage) -> None:
    """The build stage: WORKDIR, COPY and RUN, as written (python is this machine's)."""
    workdir = image.root
    env = {**os.environ}
    for keyword, value in stage.instructions:
        if keyword == "WORKDIR":
            workdir = Path(image.path(value))
            workdir.mkdir(parents=True, exist_ok=True)
        elif keyword == "ENV":
            env.update(dict(re.findall(r"(\w+)=(\S+)", value)))
        elif keyword == "COPY":
            *sources, target = shlex.split(value)
            into = Path(image.path(target)) if target.startswith("/") else workdir / target
            for source in sources:
                where = (
                    into / Path(source).name if len(sources) > 1 or target.endswith("/") else into
                )
                if (ROOT / source).is_dir():
                    shutil.copytree(
                        ROOT / source, where, ignore=shutil.ignore_patterns("__pycache__")
                    )
                else:
                    where.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(ROOT / source, where)
        elif keyword == "RUN":
            line = image.shell(value).replace("python ", f"{sys.executable} ", 1)
            done = subprocess.run(
                line,
                shell=True,
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert done.returncode == 0, f"RUN {value}\n{done.stderr}"


def image_user(stage: Stage) -> int | None:
    """The uid the final stage's USER runs as (from its useradd), when it is not root."""
    user = stage.last("USER")
    assert user is not None and user not in ("root", "0"), "the image must not run as root"
    for line in stage.all("RUN"):
        if f" {user}" in line and (uid := re.search(r"--uid\s+(\d+)", line)):
            return int(uid.group(1))
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_the_image_does_what_its_dockerfile_says(image_root: Path, fake: FakeDiscord) -> None:
    build_stage, final = stages((ROOT / "Dockerfile").read_text(encoding="utf-8"))[-2:]
    image = Image(image_root)
    await asyncio.to_thread(build, image, build_stage)

    # The final stage: its config, its volume, its user.
    copied = next(v for v in final.all("COPY") if "docker.yaml" in v).split()
    config_inside = copied[-1]
    config = yaml.safe_load((ROOT / copied[-2]).read_text())
    port = free_port()
    config["http"]["port"] = port  # 8080 may be taken here; the host stays as the image has it
    config = image.mapped(config)  # its paths are the image's (/data/...)
    Path(image.path(config_inside)).parent.mkdir(parents=True, exist_ok=True)
    Path(image.path(config_inside)).write_text(yaml.safe_dump(config), encoding="utf-8")
    data = Path(image.path(final.last("WORKDIR") or "/data"))
    (data / "news").mkdir(parents=True)
    uid = image_user(final)
    prefix: list[str] = []
    if os.geteuid() == 0 and uid is not None:
        for path in (data, data / "news"):
            os.chown(path, uid, uid)
        prefix = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    launcher = image_root / "launcher" / "tests"  # points discord.py at the fake, nothing else
    shutil.copytree(ROOT / "tests" / "fakediscord", launcher / "fakediscord")
    (launcher / "__init__.py").write_text("")
    env = {
        "PATH": f"{image.path('/venv')}/bin:/usr/bin:/bin",
        "HOME": str(data),
        "PYTHONPATH": str(image_root / "launcher"),
        "DISCORD_TOKEN": TOKEN,
        "FAKE_DISCORD_API": fake.api_base,
        "FAKE_DISCORD_GATEWAY": fake.gateway_url,
    }
    entrypoint = exec_form(final.last("ENTRYPOINT") or "[]")
    cmd = image.command(exec_form(final.last("CMD") or "[]"))
    assert entrypoint == ["newsdesk"]
    python = image.path("/venv") + "/bin/python"
    process = await asyncio.create_subprocess_exec(
        *prefix,
        python,
        "-m",
        "tests.fakediscord.launch",
        *cmd,
        cwd=data,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    health = image.command(exec_form(final.last("HEALTHCHECK") or ""))

    async def healthcheck() -> int:
        done = await asyncio.create_subprocess_exec(
            *prefix,
            *health,
            cwd=data,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        return await done.wait()

    try:
        await fake.wait_ready(timeout=60)
        for _ in range(100):  # healthy once the gateway is up and publishing started
            if await healthcheck() == 0:
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("the image's HEALTHCHECK never passed")
        stop = signal.Signals[final.last("STOPSIGNAL") or "SIGTERM"]
        process.send_signal(stop)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=10)  # docker's grace
    except BaseException:
        if process.returncode is None:
            process.kill()
        left = await process.stdout.read() if process.stdout else b""
        await process.wait()
        raise AssertionError(f"the image's bot: {left.decode()}") from None
    assert process.returncode == 0, output.decode()
    assert "stopped cleanly" in output.decode()
    assert (data / "newsdesk.db").exists()  # on the volume
    assert await healthcheck() != 0  # nothing answers once it is gone
