"""deploy/k8s: the Helm values and the per-op pod config, checked offline with dagster-k8s itself.

The chart cannot be downloaded here, and no Kubernetes API is reachable. So: the values'
keys are held to the chart's own field names (its values schema models, chart 1.13), the
instance config the chart renders from them (its `configmap-instance` mapping, repeated in
`chart_instance`) is validated by the installed Dagster and dagster-k8s, and every step's
Kubernetes Job is built by dagster-k8s's own executor code path, from the run launcher, the
user-code deployment's container context, the executor's step defaults and the op tags.
"""

import types
import uuid

import dagster as dg
import pytest
import yaml

from fi_diarization_tests.conftest import PROJECT_ROOT

dagster_k8s = pytest.importorskip("dagster_k8s")

VALUES = PROJECT_ROOT / "deploy" / "k8s" / "values.yaml"
NAMESPACE = "fi-diarization"
IMAGE = "registry.example/fi-diarization:gpu"
WHISPER_OPS = {"plan_batches", "transcribe_batch"}

# Field names of the chart's values models (helm/dagster/schema, chart 1.13): a key outside
# these is silently ignored by Helm, so a typo would ship unnoticed.
CHART_KEYS = {
    "": {"dagster-user-deployments", "postgresql", "generatePostgresqlPasswordSecret", "runLauncher",
         "dagsterDaemon", "concurrency", "telemetry", "global", "imagePullSecrets", "dagsterWebserver",
         "computeLogManager", "retention", "serviceAccount", "additionalInstanceConfig", "pythonLogs"},
    "deployment": {"name", "image", "dagsterApiGrpcArgs", "codeServerArgs", "includeConfigInLaunchedRuns",
                   "port", "env", "envConfigMaps", "envSecrets", "annotations", "nodeSelector", "affinity",
                   "tolerations", "podSecurityContext", "securityContext", "resources", "livenessProbe",
                   "readinessProbe", "startupProbe", "labels", "volumeMounts", "volumes", "schedulerName"},
    "k8sRunLauncher": {"image", "imagePullPolicy", "jobNamespace", "loadInclusterConfig", "kubeconfigFile",
                       "envConfigMaps", "envSecrets", "envVars", "volumeMounts", "volumes", "labels",
                       "failPodOnRunFailure", "resources", "schedulerName", "securityContext", "runK8sConfig"},
    "runK8sConfig": {"containerConfig", "podSpecConfig", "podTemplateSpecMetadata", "jobSpecConfig", "jobMetadata"},
    "dagsterDaemon": {"enabled", "image", "runCoordinator", "heartbeatTolerance", "env", "envConfigMaps",
                      "envSecrets", "deploymentLabels", "labels", "nodeSelector", "affinity", "tolerations",
                      "podSecurityContext", "securityContext", "resources", "livenessProbe", "readinessProbe",
                      "startupProbe", "annotations", "runMonitoring", "runRetries", "sensors", "schedules",
                      "schedulerName", "volumeMounts", "volumes"},
    "queuedRunCoordinator": {"maxConcurrentRuns", "tagConcurrencyLimits", "dequeueIntervalSeconds",
                             "dequeueNumWorkers", "dequeueUseThreads"},
    "postgresql": {"image", "enabled", "postgresqlHost", "postgresqlUsername", "postgresqlPassword",
                   "postgresqlDatabase", "postgresqlParams", "postgresqlScheme", "service"},
    "concurrency": {"enabled", "pools", "runs"},
    "pools": {"defaultLimit", "granularity", "opGranularityRunBuffer"},
    "runs": {"maxConcurrentRuns", "tagConcurrencyLimits"},
}


class _NoDuplicates(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; Helm would too, hiding the first."""


def _mapping(loader, node, deep=False):
    keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
    duplicates = {k for k in keys if keys.count(k) > 1}
    if duplicates:
        raise yaml.constructor.ConstructorError(None, None, f"duplicate keys {sorted(duplicates)}", node.start_mark)
    return loader.construct_mapping(node, deep=deep)


_NoDuplicates.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.load(VALUES.read_text(), Loader=_NoDuplicates)


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def chart_instance(values: dict) -> dict:
    """The dagster.yaml the chart's configmap-instance template renders from these values."""
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    pg = values["postgresql"]
    pg_config = {
        "postgres_db": {
            "username": pg["postgresqlUsername"], "password": {"env": "DAGSTER_PG_PASSWORD"},
            "hostname": f"fi-diarization-postgresql", "db_name": pg["postgresqlDatabase"],
            "port": pg["service"]["port"], "params": {}, **({"scheme": pg["postgresqlScheme"]} if "postgresqlScheme" in pg else {}),
        }
    }
    monitoring = values["dagsterDaemon"]["runMonitoring"]
    concurrency = values["concurrency"]
    return {
        "run_storage": {"module": "dagster_postgres.run_storage", "class": "PostgresRunStorage", "config": pg_config},
        "event_log_storage": {"module": "dagster_postgres.event_log", "class": "PostgresEventLogStorage", "config": pg_config},
        "schedule_storage": {"module": "dagster_postgres.schedule_storage", "class": "PostgresScheduleStorage", "config": pg_config},
        "run_launcher": {
            "module": "dagster_k8s",
            "class": "K8sRunLauncher",
            "config": {
                "load_incluster_config": launcher["loadInclusterConfig"],
                "job_namespace": launcher.get("jobNamespace") or NAMESPACE,
                "image_pull_policy": launcher["imagePullPolicy"],
                "service_account_name": "fi-diarization",
                "dagster_home": "/opt/dagster/dagster_home",
                "instance_config_map": "fi-diarization-instance",
                "postgres_password_secret": "fi-diarization-postgresql-secret",
                "run_k8s_config": {_snake(k): v for k, v in launcher.get("runK8sConfig", {}).items()},
            },
        },
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": {_snake(k): v for k, v in values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"].items()},
        },
        "run_monitoring": {_snake(k): v for k, v in monitoring.items()},
        "run_retries": {"enabled": values["dagsterDaemon"]["runRetries"]["enabled"],
                        "max_retries": values["dagsterDaemon"]["runRetries"]["maxRetries"]},
        "concurrency": {
            "pools": {_snake(k): v for k, v in concurrency["pools"].items()},
            "runs": {_snake(k): v for k, v in concurrency["runs"].items()},
        },
        "telemetry": {"enabled": values["telemetry"]["enabled"]},
    }


def container_context(values: dict) -> dict:
    """The `k8s` container context the chart gives the code server, copied into every run."""
    deployment = values["dagster-user-deployments"]["deployments"][0]
    return {
        "k8s": {
            "image_pull_policy": deployment["image"]["pullPolicy"],
            "env_config_maps": [f"fi-diarization-{deployment['name']}-user-env"],
            "env_secrets": [s["name"] for s in deployment.get("envSecrets", [])],
            "namespace": NAMESPACE,
            "service_account_name": "fi-diarization-user-deployments",
            "env": deployment["env"],
            "run_k8s_config": {"pod_spec_config": {"automount_service_account_token": True}},
        }
    }


def test_values_use_only_the_charts_keys(values):
    deployments = values["dagster-user-deployments"]
    assert deployments["enabled"] and deployments["enableSubchart"] and len(deployments["deployments"]) == 1
    (deployment,) = deployments["deployments"]
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    for where, section in [
        ("", values), ("deployment", deployment), ("k8sRunLauncher", launcher),
        ("runK8sConfig", launcher["runK8sConfig"]), ("dagsterDaemon", values["dagsterDaemon"]),
        ("queuedRunCoordinator", values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]),
        ("postgresql", values["postgresql"]), ("concurrency", values["concurrency"]),
        ("pools", values["concurrency"]["pools"]), ("runs", values["concurrency"]["runs"]),
    ]:
        assert set(section) <= CHART_KEYS[where], (where, set(section) - CHART_KEYS[where])


def test_values_run_the_project_on_k8s(values):
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["codeServerArgs"] == ["-m", "fi_diarization.definitions"]
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}
    env = {e["name"]: e["value"] for e in deployment["env"]}
    assert env["FI_EXECUTOR"] == "k8s" and env["WHISPER_DEVICE"] == "auto"
    assert env["FI_DIARIZATION_HOME"].startswith("s3://")  # pods on several nodes share one data root
    # Credentials come from a Secret, never from this file.
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} & set(env)
    assert "postgresqlPassword" not in values["postgresql"]
    assert {s["name"] for s in deployment["envSecrets"]} == {"fi-diarization-s3"}
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagsterDaemon"]["runMonitoring"]["enabled"] and values["dagsterDaemon"]["runRetries"]["enabled"]
    assert values["concurrency"]["enabled"] and values["concurrency"]["pools"]["granularity"] == "op"


def test_the_rendered_instance_passes_dagsters_schema(values, tmp_path):
    from dagster._config import process_config
    from dagster._core.instance.config import ConcurrencyConfig, dagster_instance_config
    from dagster._core.run_coordinator import QueuedRunCoordinator

    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(chart_instance(values)))
    config, _ = dagster_instance_config(str(tmp_path))  # raises on anything the schema refuses
    launcher = config["run_launcher"]
    processed = process_config(dagster_k8s.K8sRunLauncher.config_type(), launcher["config"])
    assert processed.success, processed.errors
    assert processed.value["run_k8s_config"]["container_config"]["resources"]["requests"]["cpu"] == "250m"
    coordinator = QueuedRunCoordinator(**{k: v for k, v in config["run_coordinator"]["config"].items()})
    limits = ConcurrencyConfig.from_concurrency_settings(config["concurrency"], coordinator.get_run_queue_config())
    assert limits.pool_config.default_pool_limit == 2 and limits.pool_config.pool_granularity.value == "op"
    assert limits.run_queue_config.max_concurrent_runs == 8
    assert config["run_monitoring"]["enabled"] and config["run_monitoring"]["free_slots_after_run_end_seconds"] == 120


def test_the_job_runs_a_pod_per_step_with_gpu_tags_on_the_whisper_ops(monkeypatch):
    from fi_diarization.defs.k8s import K8S_CONFIG_TAG

    job = _k8s_job(monkeypatch)
    assert job.executor_def.name == "k8s"
    tagged = {op.name for op in job.graph.iterate_op_defs() if K8S_CONFIG_TAG in op.tags}
    assert tagged == WHISPER_OPS
    assert {op.name for op in job.graph.iterate_op_defs() if op.pool == "whisper"} == WHISPER_OPS


def _k8s_job(monkeypatch) -> dg.JobDefinition:
    from fi_diarization.definitions import JOB_NAME, build_definitions

    monkeypatch.setenv("FI_EXECUTOR", "k8s")
    return build_definitions().resolve_job_def(JOB_NAME)


def _step_jobs(values: dict, job: dg.JobDefinition, tmp_path) -> dict[str, dict]:
    """Each op's Kubernetes Job as dagster-k8s's step handler builds it, serialized as for the API."""
    import kubernetes
    from dagster._core.executor.init import InitExecutorContext
    from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
    from dagster._core.code_pointer import ModuleCodePointer
    from dagster._core.definitions.job_base import InMemoryJob
    from dagster._core.storage.dagster_run import DagsterRun
    from dagster_k8s.job import construct_dagster_k8s_job

    kubeconfig = tmp_path / "kubeconfig"  # an unreachable cluster: the clients are built, never called
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "offline",
        "clusters": [{"name": "offline", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "offline", "user": {"token": "offline"}}],
        "contexts": [{"name": "offline", "context": {"cluster": "offline", "user": "offline"}}],
    }))
    rendered = chart_instance(values)["run_launcher"]
    rendered["config"].update(load_incluster_config=False, kubeconfig_file=str(kubeconfig))
    (tmp_path / "dagster").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "dagster"), overrides={"run_launcher": rendered})
    launcher = instance.run_launcher
    assert isinstance(launcher, dagster_k8s.K8sRunLauncher)
    executor_config = job.executor_def.config_schema.resolve_config({}).value["config"]
    executor = job.executor_def.executor_creation_fn(
        InitExecutorContext(job=InMemoryJob(job), executor_def=job.executor_def, executor_config=executor_config, instance=instance)
    )
    handler = executor._step_handler
    origin = JobPythonOrigin(
        "transcribe_audio",
        RepositoryPythonOrigin(
            "/opt/venv/bin/python", ModuleCodePointer("fi_diarization.definitions", "defs", None),
            container_image=IMAGE, container_context=container_context(values),
        ),
    )
    run = DagsterRun(job_name="transcribe_audio", run_id=str(uuid.uuid4()), job_code_origin=origin)
    client = kubernetes.client.ApiClient()
    jobs = {}
    for op in job.graph.iterate_op_defs():
        step_key = op.name
        context = types.SimpleNamespace(
            execute_step_args=types.SimpleNamespace(step_keys_to_execute=[step_key]),
            dagster_run=run, instance=instance, step_tags={step_key: op.tags},
            get_step_context=lambda key, op=op: types.SimpleNamespace(step=types.SimpleNamespace(op_name=op.name)),
        )
        container = handler._get_container_context(context)
        k8s_job = construct_dagster_k8s_job(
            job_config=container.get_k8s_job_config(IMAGE, launcher), args=["dagster", "api", "execute_step"],
            job_name=f"dagster-step-{op.name.replace('_', '-')}", component="step_worker",
            user_defined_k8s_config=container.run_k8s_config, labels={"dagster/op": step_key},
        )
        jobs[op.name] = client.sanitize_for_serialization(k8s_job)
    return jobs


def test_whisper_step_pods_ask_for_a_gpu_node_and_the_others_stay_on_cpu(values, monkeypatch, tmp_path):
    jobs = _step_jobs(values, _k8s_job(monkeypatch), tmp_path)
    assert set(jobs) >= WHISPER_OPS | {"audio", "chunks", "speaker_turns", "transcript"}
    gpu_taint = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    for name, rendered in jobs.items():
        pod = rendered["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        resources = container["resources"]
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        # Every step pod gets the deployment's env, its Secret and the project image.
        assert container["image"] == IMAGE and env["FI_EXECUTOR"] == "k8s", name
        assert {"secretRef": {"name": "fi-diarization-s3"}} in container["envFrom"], name
        if name in WHISPER_OPS:
            assert resources["limits"]["nvidia.com/gpu"] == resources["requests"]["nvidia.com/gpu"] == "1", name
            assert gpu_taint in pod["tolerations"], name
            assert rendered["spec"]["template"]["metadata"]["labels"]["fi-diarization/node"] == "gpu"
            assert resources["requests"]["memory"] == "6Gi"  # the op's own request wins over the default
        else:
            assert "nvidia.com/gpu" not in {**resources.get("requests", {}), **resources.get("limits", {})}, name
            assert gpu_taint not in pod.get("tolerations", []), name
            assert rendered["spec"]["template"]["metadata"]["labels"]["fi-diarization/node"] == "cpu"
            assert resources["requests"] == {"cpu": "2", "memory": "4Gi"}, name
