/* SPDX-License-Identifier: MIT */
/* The reference scenarios shared by the allocation, crash and fault sweeps. */
#ifndef MLOPS_SCENARIOS_H
#define MLOPS_SCENARIOS_H

#include "sweep.h"

/* Store operations: puts, a batch with preconditions, a blob, a cursor,
 * scans, reads, a delete, a compaction and a check. */
extern const sweep_scenario scenario_store;

/* Tracking: an experiment, a run, params, tags, a batch, metrics one by
 * one (4, or 1,000 at full scale), two artifacts, end, a search. */
extern const sweep_scenario scenario_run;

/* Registry (scenarios_registry.c): a run with a metric and a model
 * artifact, a model, versions from the run and from a blob, a tag, an
 * alias, Staging and Production with a passing gate, a refusing gate,
 * Production again (archiving the previous), a rollback, reads. */
extern const sweep_scenario scenario_registry;

/* Features (scenarios_features.c): a view, three small ingests (C columns
 * and a CSV file; 1,000 rows each at full scale), a point-in-time join
 * checked value by value, materialization into the same store, online
 * reads, a fourth ingest, an incremental materialization, online reads. */
extern const sweep_scenario scenario_features;

/* Drift (scenarios_drift.c): numeric and categorical baseline profiles
 * stored, loaded and compared with a shifted sample, a monitor with a
 * count window that closes twice, the second time firing alerts, history. */
extern const sweep_scenario scenario_drift;

/* Rollout (scenarios_rollout.c): an experiment saved and reloaded with
 * sticky assignment, a canary rollout: traffic, flush, a stage advance,
 * failing traffic, an error-rate rollback; an analysis. */
extern const sweep_scenario scenario_rollout;

/* Every scenario this build has, NULL-terminated. */
extern const sweep_scenario *const all_scenarios[];

#endif
