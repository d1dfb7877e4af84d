"""The seed-style peer of bench/api-all-in-one.bench.ts: the original project's serving shape.

A Flask app under gunicorn (two worker processes) that trains an xgboost classifier on the Pima CSV at
start-up (in each worker, as `gunicorn app:app` without --preload does), scores one row per
POST /predict with it, and appends one JSONL line per prediction to a log file, as the seed
did. The bench runs it in the same sitting as RiskStream's POST /v1/predict, with the same
load, so the two figures compare on one machine state.

Settings (environment; the bench passes them):
  SEED_PEER_PIMA_CSV  the Pima CSV (the bench passes config.data.pimaCsvPath)
  SEED_PEER_LOG       the JSONL prediction log (appended to; the bench puts it in a temp dir)

The booster uses the project's xgboost defaults (trainer/learners/xgboost.ts), so both sides
serve trees of the same size and depth. The bench installs requirements.txt into
.cache/seed-peer-venv (peer.ts) on first use; `xgboost-cpu` is the xgboost wheel without the
NVIDIA NCCL dependency (~200 MB) that a CPU-only peer never loads.

  SEED_PEER_PIMA_CSV=... SEED_PEER_LOG=/tmp/p.jsonl \
    .cache/seed-peer-venv/bin/gunicorn -w 2 -k gthread --threads 1 --chdir bench/seed-peer app:app
"""

import json
import os
import sys
import time
import uuid

import numpy as np
import xgboost as xgb
from flask import Flask, jsonify, request

# Request keys (the RiskStream body's camelCase names) in the CSV's column order.
FEATURES = [
    "pregnancies",
    "glucose",
    "bloodPressure",
    "skinThickness",
    "insulin",
    "bmi",
    "diabetesPedigreeFunction",
    "age",
]
PARAMS = {
    "objective": "binary:logistic",
    "max_depth": 2,
    "eta": 0.03,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 3,
    "lambda": 1,
    "tree_method": "hist",
    "seed": 42,
    # One thread per worker, as for any pre-fork server: xgboost's default (an OpenMP team per
    # process over every core) makes the two workers' spinning teams fight for the same cores
    # and costs an order of magnitude in requests/s on a 2-core machine.
    "nthread": 1,
}
ROUNDS = 250
THRESHOLD = 0.5


def train(csv_path):
    data = np.loadtxt(csv_path, delimiter=",", skiprows=1, dtype=np.float32)
    return xgb.train(PARAMS, xgb.DMatrix(data[:, :8], label=data[:, 8]), num_boost_round=ROUNDS)


CSV_PATH = os.environ["SEED_PEER_PIMA_CSV"]
LOG_PATH = os.environ["SEED_PEER_LOG"]
MODEL_VERSION = "seed-peer-1"
booster = train(CSV_PATH)
app = Flask(__name__)
# Each worker trains its own booster; the bench waits for one such line per worker.
print(f"seed-peer worker ready pid={os.getpid()}", file=sys.stderr, flush=True)


@app.get("/health")
def health():
    return jsonify(status="ok", model_version=MODEL_VERSION)


@app.post("/predict")
def predict():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error="expected a JSON object"), 400
    try:
        row = [float(body[f]) for f in FEATURES]
    except (KeyError, TypeError, ValueError) as e:
        return jsonify(error=f"missing or non-numeric feature: {e}"), 400
    probability = float(booster.inplace_predict(np.asarray([row], dtype=np.float32))[0])
    label = int(probability >= THRESHOLD)
    record = {
        "request_id": str(uuid.uuid4()),
        "timestamp": time.time(),
        "patient_id": body.get("patientId"),
        "features": dict(zip(FEATURES, row)),
        "probability": probability,
        "label": label,
        "model_version": MODEL_VERSION,
    }
    # One short O_APPEND write per prediction, as the seed logged: both workers share the file.
    with open(LOG_PATH, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
    return jsonify(request_id=record["request_id"], probability=probability, label=label,
                   model_version=MODEL_VERSION)
