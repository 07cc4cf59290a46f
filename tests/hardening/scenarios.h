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

/* Every scenario this build has, NULL-terminated. */
extern const sweep_scenario *const all_scenarios[];

#endif
