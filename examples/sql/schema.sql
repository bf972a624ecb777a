-- The article's three tables (users, user_preferences, activity_log), with a realistic mix of
-- column types and NULLs so that the JSON encoders are exercised on every common type.
-- Idempotent: safe to run again.

CREATE TABLE IF NOT EXISTS users (
  id           bigint PRIMARY KEY,
  email        text NOT NULL,
  name         varchar(100) NOT NULL,
  is_active    boolean NOT NULL DEFAULT true,
  level        smallint NOT NULL DEFAULT 1,
  login_count  integer NOT NULL DEFAULT 0,
  score        numeric(10, 2),
  rating       real,
  balance      double precision,
  external_id  uuid NOT NULL,
  birth_date   date,
  last_login   timestamp,
  created_at   timestamptz NOT NULL DEFAULT now(),
  tags         text[],
  profile      jsonb,
  avatar       bytea
);

CREATE TABLE IF NOT EXISTS user_preferences (
  user_id        bigint PRIMARY KEY REFERENCES users (id),
  theme          text NOT NULL DEFAULT 'light',
  language       varchar(10) NOT NULL DEFAULT 'en',
  notifications  boolean NOT NULL DEFAULT true,
  settings       json,
  updated_at     timestamptz NOT NULL DEFAULT now()
);

-- The article's Python response model reads id as a string: a text id keeps it valid.
CREATE TABLE IF NOT EXISTS activity_log (
  id           text PRIMARY KEY,
  user_id      bigint NOT NULL REFERENCES users (id),
  action       text NOT NULL,
  created_at   timestamptz NOT NULL,
  duration_ms  integer,
  metadata     jsonb
);

CREATE INDEX IF NOT EXISTS activity_log_user_created_idx
  ON activity_log (user_id, created_at DESC);
