#include "db/migrations.h"

#include <string>

#include "base/status_macros.h"
#include "base/str_cat.h"

namespace flopwise::db::internal {
namespace {

// Version 1: every table of docs/storage.md. Metrics and checkpoints are
// keyed by (run_id, attempt, seq), which makes reports idempotent.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE sweeps (
  sweep_id    INTEGER PRIMARY KEY,
  name        TEXT    NOT NULL,
  spec_yaml   TEXT    NOT NULL,
  priority    INTEGER NOT NULL,
  state       TEXT    NOT NULL CHECK (state IN ('active', 'completed', 'cancelled')),
  created_ms  INTEGER NOT NULL
);

CREATE TABLE runs (
  run_id          INTEGER PRIMARY KEY,
  sweep_id        INTEGER NOT NULL REFERENCES sweeps (sweep_id),
  index_in_sweep  INTEGER NOT NULL CHECK (index_in_sweep >= 0),
  arch            TEXT    NOT NULL,
  name            TEXT    NOT NULL,
  config_json     TEXT    NOT NULL,
  token_budget    INTEGER NOT NULL CHECK (token_budget > 0),
  priority        INTEGER NOT NULL,
  state           TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'failed',
                                                    'diverged', 'cancelled')),
  attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts    INTEGER NOT NULL CHECK (max_attempts >= 1),
  UNIQUE (sweep_id, index_in_sweep)
);
CREATE INDEX runs_by_state ON runs (state, priority DESC, run_id);

CREATE TABLE workers (
  worker_id          TEXT    PRIMARY KEY,
  hostname           TEXT    NOT NULL,
  inventory_json     TEXT    NOT NULL,
  registered_ms      INTEGER NOT NULL,
  last_heartbeat_ms  INTEGER NOT NULL,
  draining           INTEGER NOT NULL DEFAULT 0 CHECK (draining IN (0, 1))
);

CREATE TABLE attempts (
  run_id             INTEGER NOT NULL REFERENCES runs (run_id),
  attempt            INTEGER NOT NULL CHECK (attempt >= 1),
  worker_id          TEXT    NOT NULL REFERENCES workers (worker_id),
  lease_id           TEXT    NOT NULL UNIQUE,
  lease_deadline_ms  INTEGER NOT NULL,
  resumed_from_step  INTEGER NOT NULL DEFAULT -1,
  state              TEXT    NOT NULL CHECK (state IN ('active', 'succeeded', 'failed',
                                                       'diverged', 'expired', 'stopped',
                                                       'cancelled')),
  reason             TEXT    NOT NULL DEFAULT '',
  started_ms         INTEGER NOT NULL,
  ended_ms           INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, attempt)
);
CREATE INDEX attempts_by_state ON attempts (state, lease_deadline_ms);
CREATE INDEX attempts_by_worker ON attempts (worker_id);

CREATE TABLE metrics (
  run_id        INTEGER NOT NULL,
  attempt       INTEGER NOT NULL,
  seq           INTEGER NOT NULL CHECK (seq >= 0),
  step          INTEGER NOT NULL CHECK (step >= 0),
  tokens        INTEGER NOT NULL CHECK (tokens >= 0),
  flops         REAL,
  loss          REAL,
  lr            REAL,
  grad_norm     REAL,
  tokens_per_s  REAL,
  superseded    INTEGER NOT NULL DEFAULT 0 CHECK (superseded IN (0, 1)),
  PRIMARY KEY (run_id, attempt, seq),
  FOREIGN KEY (run_id, attempt) REFERENCES attempts (run_id, attempt)
) WITHOUT ROWID;
CREATE INDEX metrics_by_step ON metrics (run_id, step);

CREATE TABLE checkpoints (
  run_id      INTEGER NOT NULL,
  attempt     INTEGER NOT NULL,
  seq         INTEGER NOT NULL CHECK (seq >= 0),
  step        INTEGER NOT NULL CHECK (step >= 0),
  tokens      INTEGER NOT NULL CHECK (tokens >= 0),
  flops       REAL,
  loss        REAL,
  path        TEXT    NOT NULL,
  sha256      TEXT    NOT NULL,
  superseded  INTEGER NOT NULL DEFAULT 0 CHECK (superseded IN (0, 1)),
  PRIMARY KEY (run_id, attempt, seq),
  FOREIGN KEY (run_id, attempt) REFERENCES attempts (run_id, attempt)
) WITHOUT ROWID;
CREATE INDEX checkpoints_by_step ON checkpoints (run_id, step);

CREATE TABLE evals (
  run_id           INTEGER NOT NULL REFERENCES runs (run_id),
  checkpoint_step  INTEGER NOT NULL,
  task             TEXT    NOT NULL,
  metric           TEXT    NOT NULL,
  value            REAL,
  created_ms       INTEGER NOT NULL,
  PRIMARY KEY (run_id, checkpoint_step, task, metric)
) WITHOUT ROWID;

CREATE TABLE fits (
  inputs_hash  TEXT    NOT NULL,
  method       TEXT    NOT NULL,
  result_json  TEXT    NOT NULL,
  created_ms   INTEGER NOT NULL,
  PRIMARY KEY (inputs_hash, method)
) WITHOUT ROWID;
)sql";

// Version 2: runs.config_json holds the protobuf JSON of a flopwise.v1.Run
// (server/run_plan.h) instead of version 1's flat object; this rewrites the
// stored plans field by field (the evaluation fields and flops_per_token go).
constexpr std::string_view kRunPlanAsRunV2 = R"sql(
UPDATE runs SET config_json = json_object(
  'index_in_sweep', json_extract(config_json, '$.index_in_sweep'),
  'name', json_extract(config_json, '$.name'),
  'config', json_object(
    'model', json_object(
      'arch', 'ARCHITECTURE_' || upper(json_extract(config_json, '$.arch')),
      'preset', json_extract(config_json, '$.preset'),
      'layers', json_extract(config_json, '$.layers'),
      'd_model', json_extract(config_json, '$.d_model'),
      'heads', json_extract(config_json, '$.heads'),
      'head_dim', json_extract(config_json, '$.head_dim'),
      'ffn_dim', json_extract(config_json, '$.ffn_dim'),
      'vocab', json_extract(config_json, '$.vocab'),
      'context', json_extract(config_json, '$.context'),
      'gate_rank', json_extract(config_json, '$.gate_rank'),
      'tpe_dim', json_extract(config_json, '$.tpe_dim'),
      'tpe_variant', json_extract(config_json, '$.tpe_variant'),
      'scaled_residual_init',
        json(CASE WHEN json_extract(config_json, '$.scaled_residual_init') THEN 'true'
                  ELSE 'false' END),
      'norm_affine',
        json(CASE WHEN json_extract(config_json, '$.norm_affine') THEN 'true' ELSE 'false' END),
      'v_act', json_extract(config_json, '$.v_act'),
      'lrpe_variant', json_extract(config_json, '$.lrpe_variant')),
    'batch_tokens', json_extract(config_json, '$.batch_tokens'),
    'grad_accum', json_extract(config_json, '$.grad_accum'),
    'total_tokens', json_extract(config_json, '$.total_tokens'),
    'lr', json_extract(config_json, '$.lr'),
    'weight_decay', json_extract(config_json, '$.weight_decay'),
    'schedule', CASE json_extract(config_json, '$.schedule')
                  WHEN 'cosine' THEN 'LR_SCHEDULE_COSINE' ELSE 'LR_SCHEDULE_CONSTANT' END,
    'warmup_tokens', json_extract(config_json, '$.warmup_tokens'),
    'seed', json_extract(config_json, '$.seed'),
    'data_path', json_extract(config_json, '$.data_path'),
    'checkpoint_every_tokens', json_extract(config_json, '$.checkpoint_every_tokens'),
    'log_every_steps', json_extract(config_json, '$.log_every_steps'),
    'min_lr', json_extract(config_json, '$.min_lr'),
    'beta1', json_extract(config_json, '$.beta1'),
    'beta2', json_extract(config_json, '$.beta2'),
    'checkpoint_keep_last', json_extract(config_json, '$.checkpoint_keep_last')),
  'params_non_embedding', json_extract(config_json, '$.params_non_embedding'),
  'params_embedding', json_extract(config_json, '$.params_embedding'),
  'estimated_flops', json_extract(config_json, '$.estimated_flops'),
  'estimated_memory_bytes', json_extract(config_json, '$.estimated_memory_bytes'),
  'resources', json_object(
    'cpu_cores', json_extract(config_json, '$.cpu_cores'),
    'gpus', json_extract(config_json, '$.gpus'),
    'memory_bytes', json_extract(config_json, '$.memory_bytes')),
  'priority', json_extract(config_json, '$.priority'),
  'max_attempts', json_extract(config_json, '$.max_attempts'))
WHERE json_valid(config_json) AND json_type(config_json, '$.arch') = 'text';
)sql";

// Version 3: the trainer's validation of each checkpoint (docs/training.md
// "Validation"); NULL in all three where none ran, as in every older row.
constexpr std::string_view kCheckpointValidationV3 = R"sql(
ALTER TABLE checkpoints ADD COLUMN validation_loss REAL;
ALTER TABLE checkpoints ADD COLUMN validation_bits_per_byte REAL;
ALTER TABLE checkpoints ADD COLUMN validation_tokens INTEGER
  CHECK (validation_tokens IS NULL OR validation_tokens > 0);
)sql";

// Version 4: eval jobs (docs/storage.md, "Eval jobs"). An eval job evaluates
// one checkpoint (its run, attempt and seq) on a list of tasks and is leased
// to workers like a run. `evals` is rebuilt keyed by (job, task, metric), so a
// re-delivered result changes nothing, with the checkpoint's key and a
// superseded flag like metrics and checkpoints; version 1's evals table had
// no writer, so no rows are lost. Version 3 (the checkpoints' validation
// columns) and this step touch different tables.
constexpr std::string_view kEvalJobsV4 = R"sql(
CREATE TABLE eval_jobs (
  job_id             INTEGER PRIMARY KEY,
  run_id             INTEGER NOT NULL REFERENCES runs (run_id),
  attempt            INTEGER NOT NULL,
  checkpoint_seq     INTEGER NOT NULL,
  checkpoint_step    INTEGER NOT NULL CHECK (checkpoint_step >= 0),
  checkpoint_tokens  INTEGER NOT NULL CHECK (checkpoint_tokens >= 0),
  checkpoint_path    TEXT    NOT NULL,
  tasks_json         TEXT    NOT NULL,
  priority           INTEGER NOT NULL,
  state              TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'failed',
                                                       'superseded')),
  lease_id           TEXT    UNIQUE,
  worker_id          TEXT    NOT NULL DEFAULT '',
  lease_deadline_ms  INTEGER NOT NULL DEFAULT 0,
  attempts           INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  error              TEXT    NOT NULL DEFAULT '',
  created_ms         INTEGER NOT NULL,
  started_ms         INTEGER NOT NULL DEFAULT 0,
  ended_ms           INTEGER NOT NULL DEFAULT 0,
  FOREIGN KEY (run_id, attempt, checkpoint_seq) REFERENCES checkpoints (run_id, attempt, seq)
);
CREATE INDEX eval_jobs_by_state ON eval_jobs (state, priority DESC, job_id);
CREATE INDEX eval_jobs_by_run ON eval_jobs (run_id, checkpoint_step);

DROP TABLE evals;
CREATE TABLE evals (
  job_id           INTEGER NOT NULL REFERENCES eval_jobs (job_id),
  task             TEXT    NOT NULL,
  metric           TEXT    NOT NULL,
  value            REAL,
  text             TEXT    NOT NULL DEFAULT '',
  job_attempt      INTEGER NOT NULL CHECK (job_attempt >= 1),
  run_id           INTEGER NOT NULL,
  attempt          INTEGER NOT NULL,
  checkpoint_seq   INTEGER NOT NULL,
  checkpoint_step  INTEGER NOT NULL,
  superseded       INTEGER NOT NULL DEFAULT 0 CHECK (superseded IN (0, 1)),
  created_ms       INTEGER NOT NULL,
  PRIMARY KEY (job_id, task, metric)
) WITHOUT ROWID;
CREATE INDEX evals_by_run ON evals (run_id, checkpoint_step);
)sql";

// Version 5: where the worker writes each attempt's trainer log (its path on
// the worker's machine, as ReportLogPath sends it); empty for older attempts
// and until the worker reports it.
constexpr std::string_view kAttemptLogPathV5 = R"sql(
ALTER TABLE attempts ADD COLUMN log_path TEXT NOT NULL DEFAULT '';
)sql";

constexpr Migration kMigrations[] = {
    {1, kSchemaV1},   {2, kRunPlanAsRunV2},   {3, kCheckpointValidationV3},
    {4, kEvalJobsV4}, {5, kAttemptLogPathV5},
};

}  // namespace

std::span<const Migration> SchemaMigrations() { return kMigrations; }

absl::Status Migrate(Connection& conn, std::span<const Migration> migrations,
                     std::string_view what) {
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  ASSIGN_OR_RETURN(const int64_t version, conn.QueryInt64("PRAGMA user_version", what));
  ASSIGN_OR_RETURN(const int64_t application_id, conn.QueryInt64("PRAGMA application_id", what));
  if (version > latest) {
    return absl::FailedPreconditionError(Cat("db: ", what, ": schema version ", version,
                                             " is newer than this flopwise supports (", latest,
                                             "); open it with a newer flopwise"));
  }
  if (version > 0 && application_id != kApplicationId) {
    return absl::FailedPreconditionError(
        Cat("db: ", what, ": not a flopwise database (application_id ", application_id, ")"));
  }
  if (version == 0) {
    ASSIGN_OR_RETURN(const int64_t tables,
                     conn.QueryInt64("SELECT count(*) FROM sqlite_schema", what));
    if (tables > 0) {
      return absl::FailedPreconditionError(
          Cat("db: ", what, ": not a flopwise database (it has tables but no schema version)"));
    }
  }
  for (const Migration& step : migrations) {
    if (step.version <= version) continue;
    const std::string step_what = Cat(what, ": migration to version ", step.version);
    ASSIGN_OR_RETURN(Transaction txn,
                     Transaction::Begin(conn, Transaction::Mode::kImmediate, step_what));
    // Another process may have applied the step since the version was read.
    ASSIGN_OR_RETURN(const int64_t current, conn.QueryInt64("PRAGMA user_version", step_what));
    if (current >= step.version) continue;
    RETURN_IF_ERROR(conn.Exec(std::string(step.sql), step_what));
    RETURN_IF_ERROR(conn.Exec(Cat("PRAGMA application_id = ", kApplicationId, ";",
                                  "PRAGMA user_version = ", step.version),
                              step_what));
    RETURN_IF_ERROR(txn.Commit());
  }
  return absl::OkStatus();
}

}  // namespace flopwise::db::internal
