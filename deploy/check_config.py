"""Offline checks of deploy/: Dagster instance configs, compose files, workspace.

Run by deploy/validate.sh, which renders the compose variants first:

    python deploy/check_config.py [--compose cpu=RENDERED.yml] [--compose gpu=RENDERED.yml]

Needs PyYAML. With dagster and dagster-docker importable (the project's venv)
it also validates both dagster.yaml files against the installed Dagster's
instance schema and builds, without a Docker engine, the exact container-create
request the DockerRunLauncher would send for a run. Every check it cannot make
is printed as SKIPPED, never passed silently. Exit code 1 on any failure.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parent
FAILURES: list[str] = []
SKIPS: list[str] = []

# The environment every run container must get (SPEC: settings read from env).
RUN_ENV = {
    "FI_DIARIZATION_HOME",
    "FI_MAX_AUDIO_SECONDS",
    "FI_MODEL_CACHE",
    "FI_EXECUTOR",
    "WHISPER_MODEL",
    "WHISPER_DEVICE",
    "WHISPER_COMPUTE_TYPE",
    "WHISPER_BATCH_SIZE",
    "OLLAMA_HOST",
    "OLLAMA_MODEL",
    "DAGSTER_POSTGRES_HOST",
    "DAGSTER_POSTGRES_PORT",
    "DAGSTER_POSTGRES_USER",
    "DAGSTER_POSTGRES_PASSWORD",
    "DAGSTER_POSTGRES_DB",
}
DAGSTER_SERVICES = ("code", "webserver", "daemon")


def check(ok: bool, what: str) -> bool:
    print(f"  {'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        FAILURES.append(what)
    return ok


def skipped(what: str, why: str) -> None:
    print(f"  SKIPPED {what}: {why}")
    SKIPS.append(what)


def dig(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def load(path: Path) -> dict[str, Any]:
    with path.open() as f:
        data = yaml.safe_load(f)
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: not a YAML mapping")
    return data


# --------------------------------------------------------------------------
def check_instance_keys(name: str, cfg: dict[str, Any], gpu: bool) -> None:
    print(f"{name}: keys")
    pg = dig(cfg, "storage", "postgres", "postgres_db") or {}
    for key, env in (
        ("hostname", "DAGSTER_POSTGRES_HOST"),
        ("port", "DAGSTER_POSTGRES_PORT"),
        ("username", "DAGSTER_POSTGRES_USER"),
        ("password", "DAGSTER_POSTGRES_PASSWORD"),
        ("db_name", "DAGSTER_POSTGRES_DB"),
    ):
        check(pg.get(key) == {"env": env}, f"storage.postgres.postgres_db.{key} = env {env}")
    check(pg.get("scheme") == "postgresql+psycopg2",
          "postgres scheme names psycopg2 (SQLAlchemy 2.1 maps postgresql:// to psycopg 3)")
    check(
        dig(cfg, "run_coordinator", "class") == "QueuedRunCoordinator",
        "run_coordinator is QueuedRunCoordinator",
    )
    check(
        dig(cfg, "run_coordinator", "config", "max_concurrent_runs") is None,
        "run limit lives in concurrency.runs (not run_coordinator.config)",
    )
    runs = dig(cfg, "concurrency", "runs", "max_concurrent_runs")
    pools = dig(cfg, "concurrency", "pools", "default_limit")
    check(isinstance(runs, int) and runs >= 1, f"concurrency.runs.max_concurrent_runs = {runs}")
    check(isinstance(pools, int) and pools >= 1, f"concurrency.pools.default_limit = {pools}")
    if not gpu:
        check(runs == 1, "CPU: one run at a time")
    launcher = dig(cfg, "run_launcher") or {}
    check(
        (launcher.get("module"), launcher.get("class")) == ("dagster_docker", "DockerRunLauncher"),
        "run_launcher is dagster_docker.DockerRunLauncher",
    )
    lcfg = launcher.get("config") or {}
    check(lcfg.get("image") == {"env": "DAGSTER_CURRENT_IMAGE"}, "run image from DAGSTER_CURRENT_IMAGE")
    check(bool(lcfg.get("networks")), "run containers join a network")
    env_vars = set(lcfg.get("env_vars") or [])
    check(not (RUN_ENV - env_vars), f"run env_vars include {sorted(RUN_ENV)}")
    volumes = dig(lcfg, "container_kwargs", "volumes") or []
    check(any(str(v).split(":")[1] == "/data" for v in volumes), "data volume mounted at /data")
    limits = dig(lcfg, "container_kwargs") or {}
    check(all(limits.get(k) for k in ("mem_limit", "memswap_limit", "pids_limit")),
          "run containers have memory, swap and process limits")
    requests = dig(lcfg, "container_kwargs", "device_requests")
    if gpu:
        check(
            isinstance(requests, list)
            and any(
                r.get("driver") == "nvidia" and ["gpu"] in (r.get("capabilities") or [])
                for r in requests
            ),
            "GPU: run containers request an nvidia device with capability gpu",
        )
    else:
        check(requests is None, "CPU: run containers request no device")
    check(
        isinstance(dig(cfg, "run_monitoring", "free_slots_after_run_end_seconds"), int),
        "run_monitoring.free_slots_after_run_end_seconds set",
    )
    check(dig(cfg, "run_monitoring", "enabled") is True, "run_monitoring enabled")
    check(dig(cfg, "nux", "enabled") is False, "nux disabled")
    check(dig(cfg, "telemetry", "enabled") is False, "telemetry disabled")


def check_variants_agree(cpu: dict[str, Any], gpu: dict[str, Any]) -> None:
    print("dagster.yaml vs dagster.gpu.yaml")
    a, b = copy.deepcopy(cpu), copy.deepcopy(gpu)
    for c in (a, b):
        c.pop("concurrency", None)
        (dig(c, "run_launcher", "config", "container_kwargs") or {}).pop("device_requests", None)
    check(a == b, "identical apart from concurrency and device_requests")
    def limit(cfg: dict[str, Any], *path: str) -> int:
        value = dig(cfg, "concurrency", *path)
        return value if isinstance(value, int) else -1

    check(limit(gpu, "runs", "max_concurrent_runs") > limit(cpu, "runs", "max_concurrent_runs"),
          "GPU allows more concurrent runs")
    check(limit(gpu, "pools", "default_limit") >= limit(cpu, "pools", "default_limit"),
          "GPU pool limit >= CPU pool limit")


# --------------------------------------------------------------------------
def service_env(compose: dict[str, Any], service: str) -> dict[str, str]:
    env = dig(compose, "services", service, "environment") or {}
    if isinstance(env, list):  # KEY=VALUE form
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def volume_mounts(compose: dict[str, Any], service: str) -> dict[str, str]:
    """Docker volume name -> container path, for named volumes of a service."""
    names = {
        key: (spec or {}).get("name", key)
        for key, spec in (compose.get("volumes") or {}).items()
    }
    mounts = {}
    for vol in dig(compose, "services", service, "volumes") or []:
        if isinstance(vol, dict):  # long syntax (compose v2 renders this)
            source, target = vol.get("source"), vol.get("target")
        else:
            source, target = str(vol).split(":")[:2]
        if source in names:
            mounts[names[source]] = target
    return mounts


def check_compose(variant: str, compose: dict[str, Any], cfg: dict[str, Any], ws: dict[str, Any]) -> dict[str, str]:
    print(f"compose ({variant}) against dagster{'.gpu' if variant == 'gpu' else ''}.yaml")
    services = compose.get("services") or {}
    for svc in ("postgres", "code", "webserver", "daemon", "ollama", "ollama-pull"):
        check(svc in services, f"service {svc}")
    check(bool(dig(services, "postgres", "healthcheck")), "postgres has a healthcheck")
    check(bool(dig(services, "ollama", "healthcheck")), "ollama has a healthcheck")
    for svc, probe in (("webserver", "/server_info"), ("daemon", "liveness-check")):
        test = dig(services, svc, "healthcheck", "test") or []
        check(probe in " ".join(map(str, test)), f"{svc} healthcheck runs {probe}")

    lcfg = dig(cfg, "run_launcher", "config") or {}
    daemon_env = service_env(compose, "daemon")
    for svc in DAGSTER_SERVICES:
        env = service_env(compose, svc)
        missing = [n for n in lcfg.get("env_vars") or [] if n not in env]
        check(not missing, f"{svc} sets every run_launcher.env_vars name {missing or ''}")
        check(env.get("DAGSTER_CURRENT_IMAGE") == dig(services, svc, "image"),
              f"{svc}: DAGSTER_CURRENT_IMAGE is its own image ({env.get('DAGSTER_CURRENT_IMAGE')})")
        check(dig(services, svc, "build", "target") == variant, f"{svc} builds target {variant}")
    check(daemon_env.get("FI_DIARIZATION_HOME") == "/data", "FI_DIARIZATION_HOME=/data")
    check(daemon_env.get("OLLAMA_HOST") == "http://ollama:11434", "OLLAMA_HOST=http://ollama:11434")
    check(daemon_env.get("DAGSTER_POSTGRES_HOST") == "postgres", "DAGSTER_POSTGRES_HOST=postgres")
    if variant == "gpu":
        check(daemon_env.get("WHISPER_DEVICE") == "cuda", "GPU: WHISPER_DEVICE=cuda")
        check(daemon_env.get("WHISPER_COMPUTE_TYPE") == "float16", "GPU: WHISPER_COMPUTE_TYPE=float16")
        check(daemon_env.get("FI_EXECUTOR") == "multiprocess", "GPU: FI_EXECUTOR=multiprocess")
        for svc in ("ollama", "code"):
            devices = dig(services, svc, "deploy", "resources", "reservations", "devices") or []
            check(any(d.get("driver") == "nvidia" and "gpu" in (d.get("capabilities") or []) for d in devices),
                  f"GPU: {svc} reserves an nvidia gpu")
    else:
        check(daemon_env.get("WHISPER_DEVICE") == "cpu", "CPU: WHISPER_DEVICE=cpu")
        check(daemon_env.get("FI_EXECUTOR") == "in_process", "CPU: FI_EXECUTOR=in_process")
    check(daemon_env.get("FI_MODEL_CACHE", "").startswith("/data/"), "FI_MODEL_CACHE on the data volume")

    network = (dig(compose, "networks", "default", "name"))
    check(lcfg.get("networks") == [network], f"run containers join the compose network {network!r}")

    code_mounts = volume_mounts(compose, "code")
    for vol in dig(lcfg, "container_kwargs", "volumes") or []:
        name, path = str(vol).split(":")[:2]
        check(code_mounts.get(name) == path, f"run volume {name}:{path} is mounted the same in code")
    for svc in ("daemon", "webserver"):
        mounts = dig(services, svc, "volumes") or []
        check(any("/var/run/docker.sock" in str(m) for m in mounts), f"{svc} mounts the Docker socket")
    data_mounts = {svc: volume_mounts(compose, svc).get("fi-diarization-data") for svc in ("code", "daemon")}
    check(data_mounts == {"code": "/data", "daemon": "/data"}
          and "fi-diarization-data:/data" in (dig(lcfg, "container_kwargs", "volumes") or []),
          "data volume fi-diarization-data at /data in code, daemon and runs")

    grpc = (ws.get("load_from") or [{}])[0].get("grpc_server") or {}
    command = [str(c) for c in dig(services, "code", "command") or []]
    port = command[command.index("-p") + 1] if "-p" in command else None
    check(grpc.get("host") in services, f"workspace host {grpc.get('host')!r} is a service")
    check(str(grpc.get("port")) == port, f"workspace port {grpc.get('port')} = code server -p {port}")
    check("fi_diarization.definitions" in command, "code server loads -m fi_diarization.definitions")
    if "--location-name" in command:
        check(command[command.index("--location-name") + 1] == grpc.get("location_name"),
              "code server --location-name = workspace location_name")
    return daemon_env


# --------------------------------------------------------------------------
def check_dockerfile() -> None:
    print("Dockerfile")
    text = (DEPLOY / "Dockerfile").read_text()
    stages: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"^FROM\s+\S+\s+AS\s+(\S+)", line, re.I)
        if m:
            current = m.group(1).lower()
            stages[current] = ""
        elif current:
            stages[current] += line + "\n"
    check(list(stages)[-1:] == ["cpu"], "cpu is the last (default) stage")
    check("deploy/dagster.yaml /opt/dagster/dagster_home/dagster.yaml" in stages.get("cpu", ""),
          "cpu target bakes deploy/dagster.yaml")
    check("deploy/dagster.gpu.yaml /opt/dagster/dagster_home/dagster.yaml" in stages.get("gpu", ""),
          "gpu target bakes deploy/dagster.gpu.yaml")
    check("DAGSTER_HOME=/opt/dagster/dagster_home" in stages.get("runtime", ""), "DAGSTER_HOME set")
    check("deploy/workspace.yaml" in stages.get("runtime", ""), "workspace.yaml baked in")
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    for path in ("pyproject.toml", "README.md", "fi_diarization", "deploy/dagster.yaml",
                 "deploy/dagster.gpu.yaml", "deploy/workspace.yaml"):
        check(f"!{path}" in ignore, f"build context lets {path} in")


# --------------------------------------------------------------------------
def check_with_dagster(name: str, cfg_path: Path, env: dict[str, str]) -> None:
    print(f"{name}: against the installed Dagster")
    try:
        import dagster
        from dagster._core.instance.config import dagster_instance_config
        from dagster._serdes.config_class import ConfigurableClassData
    except ImportError as exc:
        skipped("schema validation", f"dagster not importable ({exc})")
        return
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        try:
            config, _ = dagster_instance_config(str(cfg_path.parent), cfg_path.name)
            check(True, f"instance schema of dagster {dagster.__version__}")
        except Exception as exc:  # noqa: BLE001 - report, don't crash
            check(False, f"instance schema: {exc}")
            return
        import yaml as _yaml

        for key in ("run_coordinator", "run_launcher", "compute_logs", "local_artifact_storage"):
            section = config[key]
            try:
                ConfigurableClassData(
                    section["module"], section["class"], _yaml.dump(section.get("config") or {})
                ).rehydrate()
                check(True, f"{key}: {section['class']} builds from its config")
            except Exception as exc:  # noqa: BLE001
                check(False, f"{key}: {section['class']}: {exc}")
        try:
            from dagster._core.instance.config import ConcurrencyConfig

            coordinator = ConfigurableClassData(
                config["run_coordinator"]["module"],
                config["run_coordinator"]["class"],
                _yaml.dump(config["run_coordinator"].get("config") or {}),
            ).rehydrate()
            conc = ConcurrencyConfig.from_concurrency_settings(
                config["concurrency"], coordinator.get_run_queue_config()  # type: ignore[attr-defined]
            )
            check(
                conc.run_queue_config is not None
                and conc.run_queue_config.max_concurrent_runs
                == config["concurrency"]["runs"]["max_concurrent_runs"]
                and conc.pool_config.default_pool_limit == config["concurrency"]["pools"]["default_limit"],
                f"effective limits: runs={conc.run_queue_config.max_concurrent_runs if conc.run_queue_config else None}, "
                f"pools={conc.pool_config.default_pool_limit}, "
                f"granularity={conc.pool_config.pool_granularity}",
            )
        except Exception as exc:  # noqa: BLE001
            check(False, f"effective concurrency: {type(exc).__name__}: {exc}")
        try:
            from dagster._config import process_config
            from dagster._core.storage.config import pg_config

            processed = process_config(pg_config(), config["storage"]["postgres"])
            check(processed.success, f"storage.postgres resolves from the env {processed.errors or ''}")
            try:
                from dagster_postgres.utils import pg_url_from_config
            except ImportError:
                skipped("postgres url", "dagster-postgres not installed here (the image installs it)")
            else:
                url = pg_url_from_config(processed.value)
                check(url == "postgresql+psycopg2://{DAGSTER_POSTGRES_USER}:{DAGSTER_POSTGRES_PASSWORD}@"
                      "{DAGSTER_POSTGRES_HOST}:{DAGSTER_POSTGRES_PORT}/{DAGSTER_POSTGRES_DB}".format(**env),
                      f"postgres url {re.sub(r':[^:@/]+@', ':***@', url)}")
        except Exception as exc:  # noqa: BLE001
            check(False, f"storage.postgres: {type(exc).__name__}: {exc}")
        check_launch_request(config["run_launcher"], env)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _bytes(size: Any) -> int:
    """docker-py's reading of a size such as 12g."""
    from docker.utils import parse_bytes

    return parse_bytes(size)


class _StubInstance:
    def report_engine_event(self, *args: Any, **kwargs: Any) -> None:
        pass

    def add_run_tags(self, *args: Any, **kwargs: Any) -> None:
        pass


def check_launch_request(section: dict[str, Any], env: dict[str, str]) -> None:
    """Run DockerRunLauncher's real launch path against a fake Docker client."""
    try:
        import docker
        from dagster._core.storage.dagster_run import DagsterRun
        from dagster._serdes.config_class import ConfigurableClassData
        from docker.models.containers import _create_container_args
    except ImportError as exc:
        skipped("container-create request", f"{exc}")
        return
    api = docker.APIClient(base_url="unix:///nonexistent.sock", version="1.44")
    sent: dict[str, Any] = {}

    def create_container_from_config(config: dict[str, Any], name: Any = None, platform: Any = None) -> dict[str, str]:
        sent.update(config)
        return {"Id": "0" * 64}

    api.create_container_from_config = create_container_from_config  # type: ignore[method-assign]

    class _Container:
        id = "0" * 64

        def start(self) -> None:
            sent["_started"] = True

    class _Containers:
        def create(self, image: str, command: Any = None, **kwargs: Any) -> _Container:
            kwargs.update(image=image, command=command, version=api._version)
            api.create_container(**_create_container_args(kwargs))
            return _Container()

    class _Client:
        containers = _Containers()

    launcher = ConfigurableClassData(
        section["module"], section["class"], yaml.dump(section.get("config") or {})
    ).rehydrate()
    stub = _StubInstance()
    launcher.register_instance(stub)  # type: ignore[attr-defined]
    launcher._get_client = lambda _ctx: _Client()  # type: ignore[attr-defined]
    run = DagsterRun(job_name="__fi_deploy_check__", run_id="00000000-0000-0000-0000-000000000000")
    try:
        launcher._launch_container_with_command(run, env["DAGSTER_CURRENT_IMAGE"], ["dagster", "api", "execute_run", "{}"])  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001
        check(False, f"DockerRunLauncher launch path: {type(exc).__name__}: {exc}")
        return
    host = sent.get("HostConfig") or {}
    env_sent = dict(e.split("=", 1) for e in sent.get("Env") or [])
    print(f"    request: Image={sent.get('Image')} NetworkMode={host.get('NetworkMode')} "
          f"Binds={host.get('Binds')} DeviceRequests={host.get('DeviceRequests')}")
    check(sent.get("_started") is True and sent.get("Image") == env["DAGSTER_CURRENT_IMAGE"],
          "launch path creates and starts a container from DAGSTER_CURRENT_IMAGE")
    check(host.get("NetworkMode") == section["config"]["networks"][0], "container joins the network")
    check(sorted(host.get("Binds") or []) == sorted(section["config"]["container_kwargs"]["volumes"]),
          "container binds the data and dagster volumes")
    wanted = {k: env[k] for k in section["config"]["env_vars"]}
    check(all(env_sent.get(k) == v for k, v in wanted.items()), "container env = daemon env for env_vars")
    kwargs = section["config"]["container_kwargs"]
    check(host.get("Memory") == _bytes(kwargs["mem_limit"]) and host.get("MemorySwap") == _bytes(kwargs["memswap_limit"])
          and host.get("PidsLimit") == kwargs["pids_limit"] and host.get("CpuShares") == kwargs.get("cpu_shares"),
          f"container limits Memory={host.get('Memory')} MemorySwap={host.get('MemorySwap')} "
          f"PidsLimit={host.get('PidsLimit')} CpuShares={host.get('CpuShares')}")
    requests = kwargs.get("device_requests")
    if requests:
        check(host.get("DeviceRequests") == [
            {"Driver": "nvidia", "Count": -1, "DeviceIDs": [], "Capabilities": [["gpu"]], "Options": {}}
        ], "container requests all nvidia GPUs (docker run --gpus all)")
    else:
        check(not host.get("DeviceRequests"), "container requests no GPU")


# --------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compose", action="append", default=[], metavar="VARIANT=FILE",
                        help="rendered `docker compose config` output for variant cpu or gpu")
    args = parser.parse_args()
    rendered = dict(item.split("=", 1) for item in args.compose)

    cfgs = {"cpu": load(DEPLOY / "dagster.yaml"), "gpu": load(DEPLOY / "dagster.gpu.yaml")}
    ws = load(DEPLOY / "workspace.yaml")
    for variant, cfg in cfgs.items():
        check_instance_keys(f"dagster{'.gpu' if variant == 'gpu' else ''}.yaml", cfg, variant == "gpu")
    check_variants_agree(cfgs["cpu"], cfgs["gpu"])
    check_dockerfile()

    for variant in ("cpu", "gpu"):
        cfg_path = DEPLOY / ("dagster.gpu.yaml" if variant == "gpu" else "dagster.yaml")
        if variant not in rendered:
            skipped(f"compose ({variant})", "no rendered compose file given")
            skipped(f"{cfg_path.name} against Dagster", "needs the compose env")
            continue
        daemon_env = check_compose(variant, load(Path(rendered[variant])), cfgs[variant], ws)
        check_with_dagster(cfg_path.name, cfg_path, daemon_env)

    print()
    if FAILURES:
        print(f"deploy check: {len(FAILURES)} FAILED")
        for f in FAILURES:
            print(f"  - {f}")
        return 1
    print(f"deploy check: all passed ({len(SKIPS)} skipped)" if SKIPS else "deploy check: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
