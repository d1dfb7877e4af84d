"""What an MLflow server holds, read with MLflow's own Python client, as JSON on stdout.

Usage: read_back.py TRACKING_URI EXPERIMENT MODEL. Used by tests/mlflow/mlflow.int.test.ts to
check the RiskStream mirror independently of RiskStream's own REST client.
"""
import hashlib
import json
import sys
import tempfile

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

uri, experiment_name, model = sys.argv[1:4]
client = MlflowClient(tracking_uri=uri, registry_uri=uri)
out = {"runs": [], "versions": [], "aliases": {}}
experiment = client.get_experiment_by_name(experiment_name)
if experiment is not None:
    for run in client.search_runs([experiment.experiment_id], max_results=1000):
        rid = run.info.run_id
        out["runs"].append(
            {
                "id": rid,
                "status": run.info.status,
                "start_time": run.info.start_time,
                "end_time": run.info.end_time,
                "params": dict(run.data.params),
                "metrics": dict(run.data.metrics),
                "tags": {k: v for k, v in run.data.tags.items()},
                "fold_roc_auc": [
                    [m.step, m.value] for m in client.get_metric_history(rid, "fold.roc_auc")
                ],
                "inputs": [
                    {"name": d.dataset.name, "digest": d.dataset.digest}
                    for d in run.inputs.dataset_inputs
                ],
                "artifacts": [f.path for f in client.list_artifacts(rid)]
                + [f.path for f in client.list_artifacts(rid, "model")],
                "artifact_sha256": {},
            }
        )
        # The model files' bytes as MLflow serves them back.
        with tempfile.TemporaryDirectory() as tmp:
            for f in client.list_artifacts(rid, "model"):
                local = client.download_artifacts(rid, f.path, tmp)
                with open(local, "rb") as fh:
                    out["runs"][-1]["artifact_sha256"][f.path] = hashlib.sha256(fh.read()).hexdigest()
try:
    registered = client.get_registered_model(model)
    out["aliases"] = dict(registered.aliases)
    for mv in client.search_model_versions(f"name = '{model}'"):
        out["versions"].append(
            {"version": mv.version, "run_id": mv.run_id, "source": mv.source, "tags": dict(mv.tags)}
        )
except MlflowException as e:
    if e.error_code != "RESOURCE_DOES_NOT_EXIST":
        raise
print(json.dumps(out))
