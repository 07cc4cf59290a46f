// SPDX-License-Identifier: MIT
// DuckDB's ASOF LEFT JOIN on the point-in-time workload (workloads/README.md):
// the created-timestamp tie-break needs a dedupe pass first, and the TTL is a
// filter after the join. Loading the CSVs is not timed; the join is.
//   node duckdb_pit.mjs FEATURES.csv ENTITIES.csv [threads] [repeat]
import { DuckDBInstance } from '@duckdb/node-api';

const [feat, ent, threads = '2', repeat = '3'] = process.argv.slice(2);
const TTL = 172800;
const db = await DuckDBInstance.create(':memory:', { threads });
const c = await db.connect();
await c.run(`CREATE TABLE f AS SELECT * FROM read_csv('${feat}', header=true,
  columns={'entity_id':'BIGINT','event_ts':'BIGINT','created_ts':'BIGINT','f0':'DOUBLE',
           'f1':'DOUBLE','f2':'DOUBLE','f3':'DOUBLE'})`);
await c.run(`CREATE TABLE e AS SELECT row_number() OVER () - 1 AS i, * FROM read_csv('${ent}',
  header=true, columns={'entity_id':'BIGINT','event_ts':'BIGINT'})`);
const times = [];
const cpus = [];
for (let r = 0; r < Number(repeat); r++) {
  await c.run('DROP TABLE IF EXISTS out');
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  await c.run(`CREATE TABLE out AS
    WITH fd AS (SELECT * FROM f QUALIFY row_number() OVER
                (PARTITION BY entity_id, event_ts ORDER BY created_ts DESC) = 1)
    SELECT e.i, CASE WHEN e.event_ts - fd.event_ts <= ${TTL} THEN fd.event_ts END AS event_ts,
      CASE WHEN e.event_ts - fd.event_ts <= ${TTL} THEN fd.created_ts END AS created_ts,
      CASE WHEN e.event_ts - fd.event_ts <= ${TTL} THEN fd.f0 END AS f0,
      CASE WHEN e.event_ts - fd.event_ts <= ${TTL} THEN fd.f1 END AS f1,
      CASE WHEN e.event_ts - fd.event_ts <= ${TTL} THEN fd.f2 END AS f2,
      CASE WHEN e.event_ts - fd.event_ts <= ${TTL} THEN fd.f3 END AS f3
    FROM e ASOF LEFT JOIN fd ON e.entity_id = fd.entity_id AND e.event_ts >= fd.event_ts`);
  times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  const c1 = process.cpuUsage(c0);
  cpus.push((c1.user + c1.system) / 1e6);
}
times.sort((a, b) => a - b);
const q = await c.runAndReadAll(`SELECT count(*) AS rows, count(event_ts) AS matched,
  sum(event_ts)::HUGEINT AS se, sum(created_ts)::HUGEINT AS sc,
  sum(round(f0 * 1e6)::HUGEINT) AS s0, sum(round(f1 * 1e6)::HUGEINT) AS s1,
  sum(round(f2 * 1e6)::HUGEINT) AS s2, sum(round(f3 * 1e6)::HUGEINT) AS s3,
  (sum(CASE WHEN event_ts IS NOT NULL THEN (i + 1)::HUGEINT * created_ts END)
     % 18446744073709551616)::HUGEINT AS wc,
  (sum(CASE WHEN event_ts IS NOT NULL THEN (i + 1)::HUGEINT * round(f0 * 1e6)::HUGEINT END)
     % 18446744073709551616 + 18446744073709551616) % 18446744073709551616 AS wf
  FROM out`);
const r = q.getRows()[0].map((x) => String(x));
console.log(`rows=${r[0]} matched=${r[1]} sum_event_ts=${r[2]} sum_created_ts=${r[3]} ` +
  `sum_f_micro=${r[4]}:${r[5]}:${r[6]}:${r[7]} w_created=${r[8]} w_f0=${r[9]}`);
cpus.sort((a, b) => a - b);
console.log(`TIME ${times[Math.floor(times.length / 2)].toFixed(4)}`);
console.log(`CPU ${cpus[Math.floor(cpus.length / 2)].toFixed(4)}`);
