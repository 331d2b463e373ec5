"""Kubernetes: one pod per step, the whisper ops on a GPU node, every other step on a CPU node."""

from __future__ import annotations

import dagster as dg

__all__ = ["K8S_CONFIG_TAG", "WHISPER_POD", "CPU_STEP_POD", "WHISPER_OP_TAGS", "k8s_executor"]

K8S_CONFIG_TAG = "dagster-k8s/config"  # dagster-k8s reads each op's pod config from this tag

# The ops that load Whisper (language detection and every batch) ask for one GPU. GPU nodes
# carry the usual `nvidia.com/gpu` NoSchedule taint (GKE sets it; elsewhere `kubectl taint`),
# so only pods that tolerate it land there: every other step stays on the CPU nodes.
WHISPER_POD = {
    "container_config": {
        "resources": {
            "requests": {"cpu": "2", "memory": "6Gi", "nvidia.com/gpu": "1"},
            "limits": {"memory": "12Gi", "nvidia.com/gpu": "1"},
        },
    },
    "pod_spec_config": {
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    },
    "pod_template_spec_metadata": {"labels": {"fi-diarization/node": "gpu"}},
}
WHISPER_OP_TAGS = {K8S_CONFIG_TAG: WHISPER_POD}

# Every step's default: decoding, VAD, speaker embeddings and Parquet need cores and memory
# (a 4 h file maps 0.9 GB of samples), not a GPU. An op's own tag is deep-merged over this.
CPU_STEP_POD = {
    "container_config": {
        "resources": {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "8Gi"}},
    },
    "pod_template_spec_metadata": {"labels": {"fi-diarization/node": "cpu"}},
}


def k8s_executor() -> dg.ExecutorDefinition:
    """dagster-k8s's `k8s_job_executor` (a Kubernetes Job per step), CPU pods by default."""
    try:
        from dagster_k8s import k8s_job_executor
    except ImportError as err:
        raise ImportError("FI_EXECUTOR=k8s needs dagster-k8s: pip install '.[deploy]'") from err
    return k8s_job_executor.configured({"step_k8s_config": CPU_STEP_POD}, name="k8s")
