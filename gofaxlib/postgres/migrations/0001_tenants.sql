-- 0001: the tenant store: tenants, numbers, users, API keys, endpoints,
-- faxes and their attempts, the receipt outbox, the audit log and the
-- ingested journal records. Applied by gofaxlib/postgres.Migrate in one
-- transaction; never edited once released (Migrate refuses a changed file):
-- later changes are new files.
--
-- Rules: ids are UUIDs; every tenant-owned row carries tenant_id; foreign
-- keys say what happens on delete; fax history (faxes, events) is never
-- deleted with its tenant (RESTRICT: suspend the tenant instead); rows
-- written by a host carry its name (several hosts may share the database).

-- updated_at follows every change, also those made with psql.
CREATE FUNCTION gofax_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- A change of routing data (tenants, numbers, users, endpoints), also one
-- made with psql, is announced on channel gofax_routing at commit (the
-- payload names the table), so every gofaxd reloads its routing cache.
CREATE FUNCTION gofax_routing_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gofax_routing', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TABLE tenants (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name           text NOT NULL CHECK (name <> '' AND length(name) <= 200),
    time_zone      text NOT NULL DEFAULT 'UTC',
    suspended      boolean NOT NULL DEFAULT false,
    retention_days integer NOT NULL DEFAULT 0 CHECK (retention_days >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX tenants_name_key ON tenants (lower(name));

-- A number belongs to exactly one tenant. A tenant with numbers cannot be
-- deleted (numbers_tenant_fkey, RESTRICT).
CREATE TABLE numbers (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      uuid NOT NULL CONSTRAINT numbers_tenant_fkey REFERENCES tenants ON DELETE RESTRICT,
    number         text NOT NULL CHECK (number ~ '^\+[1-9][0-9]{6,14}$'),
    caller_id_name text NOT NULL DEFAULT '' CHECK (length(caller_id_name) <= 200),
    header         text NOT NULL DEFAULT '' CHECK (length(header) <= 100),
    ident          text NOT NULL DEFAULT '' CHECK (length(ident) <= 20),
    suspended      boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT numbers_number_key UNIQUE (number),
    -- target of the composite keys that keep users' and endpoints'
    -- numbers within their own tenant
    CONSTRAINT numbers_tenant_id_key UNIQUE (tenant_id, id)
);

-- Users log in to the API and own HylaFAX jobs (username = job owner, so
-- unique over all tenants). password_hash is an argon2id (or bcrypt) hash,
-- '' = no password login.
CREATE TABLE users (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL CONSTRAINT users_tenant_fkey REFERENCES tenants ON DELETE CASCADE,
    username          text NOT NULL CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$'),
    email             text NOT NULL DEFAULT '' CHECK (length(email) <= 254),
    role              text NOT NULL DEFAULT 'user' CHECK (role IN ('tenant-admin', 'user')),
    password_hash     text NOT NULL DEFAULT '',
    default_number_id uuid,
    suspended         boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_username_key UNIQUE (username),
    CONSTRAINT users_tenant_id_key UNIQUE (tenant_id, id),
    -- the default number is one of the user's tenant's numbers; deleting
    -- it is refused (the store clears it first)
    CONSTRAINT users_default_number_fkey FOREIGN KEY (tenant_id, default_number_id)
        REFERENCES numbers (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX users_default_number ON users (default_number_id) WHERE default_number_id IS NOT NULL;

-- API keys: only the SHA-256 of the key is kept, and its first characters
-- to recognise it.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL,
    user_id      uuid NOT NULL,
    name         text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    prefix       text NOT NULL,
    key_hash     bytea NOT NULL CHECK (length(key_hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash),
    CONSTRAINT api_keys_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX api_keys_user ON api_keys (tenant_id, user_id);

-- Endpoints: gateways to send through, webhooks and mailboxes for
-- receipts; global (the operator's), per tenant or per number. A number's
-- endpoints go with it; a tenant's with the tenant.
CREATE TABLE endpoints (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    scope      text NOT NULL CHECK (scope IN ('global', 'tenant', 'number')),
    tenant_id  uuid CONSTRAINT endpoints_tenant_fkey REFERENCES tenants ON DELETE CASCADE,
    number_id  uuid,
    kind       text NOT NULL CHECK (kind IN ('gateway', 'webhook', 'email')),
    target     text NOT NULL CHECK (target <> '' AND length(target) <= 2000),
    priority   integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 1000000),
    enabled    boolean NOT NULL DEFAULT true,
    options    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(options) = 'object'),
    -- webhook signing secret ("whsec_..."), kept so gofaxd can sign
    secret     text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT endpoints_number_fkey FOREIGN KEY (tenant_id, number_id)
        REFERENCES numbers (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT endpoints_scope_fit_check CHECK (
        (scope = 'global' AND tenant_id IS NULL AND number_id IS NULL) OR
        (scope = 'tenant' AND tenant_id IS NOT NULL AND number_id IS NULL) OR
        (scope = 'number' AND tenant_id IS NOT NULL AND number_id IS NOT NULL))
);
CREATE INDEX endpoints_tenant ON endpoints (tenant_id, number_id);

-- One row per received fax (one call) and per send job. tenant_id is NULL
-- for a fax to a number no tenant has ([database] unknownnumber = receive).
-- user_id forgets a deleted user; owner keeps the name.
CREATE TABLE faxes (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id         uuid CONSTRAINT faxes_tenant_fkey REFERENCES tenants ON DELETE RESTRICT,
    direction         text NOT NULL CHECK (direction IN ('outbound', 'inbound')),
    status            text NOT NULL,
    from_number       text NOT NULL DEFAULT '',
    to_number         text NOT NULL DEFAULT '',
    caller_id_name    text NOT NULL DEFAULT '',
    user_id           uuid CONSTRAINT faxes_user_fkey REFERENCES users ON DELETE SET NULL,
    owner             text NOT NULL DEFAULT '',
    pages_total       integer NOT NULL DEFAULT 0 CHECK (pages_total >= 0),
    pages_transferred integer NOT NULL DEFAULT 0 CHECK (pages_transferred >= 0),
    result_code       integer NOT NULL DEFAULT 0,
    result_text       text NOT NULL DEFAULT '',
    hangup_cause      text NOT NULL DEFAULT '',
    remote_station_id text NOT NULL DEFAULT '',
    host              text NOT NULL,
    job_id            integer CHECK (job_id > 0),
    commid            text NOT NULL DEFAULT '',
    recvq_file        text NOT NULL DEFAULT '',
    document_path     text NOT NULL DEFAULT '',
    document_size     bigint NOT NULL DEFAULT 0 CHECK (document_size >= 0),
    document_sha256   bytea CHECK (length(document_sha256) = 32),
    idempotency_key   text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    completed_at      timestamptz,
    CONSTRAINT faxes_status_check CHECK (
        (direction = 'outbound' AND status IN ('queued', 'sending', 'retrying', 'delivered', 'failed', 'canceled')) OR
        (direction = 'inbound' AND status IN ('receiving', 'received', 'failed'))),
    CONSTRAINT faxes_idempotency_key UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX faxes_tenant_created ON faxes (tenant_id, created_at DESC, id DESC);
CREATE INDEX faxes_created ON faxes (created_at DESC, id DESC);
-- HylaFAX job ids restart after a spool is set up anew: not unique.
CREATE INDEX faxes_host_job ON faxes (host, job_id) WHERE job_id IS NOT NULL;
-- what reconciliation with sendq/doneq looks at
CREATE INDEX faxes_unfinished ON faxes (host) WHERE completed_at IS NULL;

-- One row per call of a fax. record_id is the spool journal record that
-- reported it, so ingesting a record twice adds nothing.
CREATE TABLE fax_attempts (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    fax_id            uuid NOT NULL CONSTRAINT fax_attempts_fax_fkey REFERENCES faxes ON DELETE CASCADE,
    record_id         text NOT NULL CONSTRAINT fax_attempts_record_id_key UNIQUE,
    host              text NOT NULL,
    modem             text NOT NULL DEFAULT '',
    call_uuid         text NOT NULL DEFAULT '',
    gateway           text NOT NULL DEFAULT '',
    number            text NOT NULL DEFAULT '',
    started_at        timestamptz NOT NULL,
    answered_at       timestamptz,
    ended_at          timestamptz,
    duration_ms       bigint NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    hangup_cause      text NOT NULL DEFAULT '',
    result_code       integer NOT NULL DEFAULT 0,
    result_text       text NOT NULL DEFAULT '',
    success           boolean NOT NULL DEFAULT false,
    pages_total       integer NOT NULL DEFAULT 0,
    pages_transferred integer NOT NULL DEFAULT 0,
    signal_rate       integer NOT NULL DEFAULT 0,
    ecm               boolean NOT NULL DEFAULT false,
    t38_status        text NOT NULL DEFAULT '',
    remote_station_id text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fax_attempts_fax ON fax_attempts (fax_id, started_at);

-- Receipt outbox. An event is one fact about a fax (fax.received,
-- fax.delivered, ...) with a stable id (the webhook-id receivers
-- de-duplicate by), written in the same transaction as the fax row.
CREATE TABLE events (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id  uuid CONSTRAINT events_tenant_fkey REFERENCES tenants ON DELETE RESTRICT,
    fax_id     uuid CONSTRAINT events_fax_fkey REFERENCES faxes ON DELETE CASCADE,
    type       text NOT NULL CHECK (type ~ '^[a-z]+\.[a-z_]+$'),
    payload    jsonb NOT NULL DEFAULT '{}',
    host       text NOT NULL DEFAULT '',
    -- the journal record that produced it (ingestion is idempotent)
    record_id  text CONSTRAINT events_record_id_key UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_tenant_created ON events (tenant_id, created_at DESC, id DESC);
CREATE INDEX events_fax ON events (fax_id);

-- One delivery per event and endpoint. A dispatcher claims due rows with
--   UPDATE deliveries SET attempts = attempts + 1, claimed_by = $host,
--          last_attempt_at = now(), next_attempt_at = now() + $lease
--   WHERE id IN (SELECT id FROM deliveries
--                WHERE status = 'pending' AND next_attempt_at <= now()
--                ORDER BY next_attempt_at LIMIT $n FOR UPDATE SKIP LOCKED)
--   RETURNING ...
-- (the lease makes a claim by a host that died due again), then records
-- delivered (delivered_at), a retry (next_attempt_at with backoff) or dead
-- after the last try, with last_status (HTTP status or SMTP reply code)
-- and last_error. Re-delivery sets a dead row pending again.
CREATE TABLE deliveries (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id        uuid NOT NULL CONSTRAINT deliveries_event_fkey REFERENCES events ON DELETE CASCADE,
    endpoint_id     uuid NOT NULL CONSTRAINT deliveries_endpoint_fkey REFERENCES endpoints ON DELETE CASCADE,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_by      text NOT NULL DEFAULT '',
    last_attempt_at timestamptz,
    last_status     integer,
    last_error      text NOT NULL DEFAULT '',
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT deliveries_event_endpoint_key UNIQUE (event_id, endpoint_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id);

-- Who did what, when. No foreign keys: the log outlives what it names.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    tenant_id   uuid,
    action      text NOT NULL,
    object_type text NOT NULL DEFAULT '',
    object_id   text NOT NULL DEFAULT '',
    remote_addr text NOT NULL DEFAULT '',
    host        text NOT NULL DEFAULT '',
    details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id DESC);

-- Spool journal records already ingested (one transaction per record).
CREATE TABLE ingested_records (
    record_id   text PRIMARY KEY,
    host        text NOT NULL,
    kind        text NOT NULL DEFAULT '',
    ingested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ingested_records_at ON ingested_records (ingested_at);

CREATE TRIGGER tenants_touch BEFORE UPDATE ON tenants FOR EACH ROW EXECUTE FUNCTION gofax_touch();
CREATE TRIGGER numbers_touch BEFORE UPDATE ON numbers FOR EACH ROW EXECUTE FUNCTION gofax_touch();
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION gofax_touch();
CREATE TRIGGER endpoints_touch BEFORE UPDATE ON endpoints FOR EACH ROW EXECUTE FUNCTION gofax_touch();
CREATE TRIGGER faxes_touch BEFORE UPDATE ON faxes FOR EACH ROW EXECUTE FUNCTION gofax_touch();
CREATE TRIGGER deliveries_touch BEFORE UPDATE ON deliveries FOR EACH ROW EXECUTE FUNCTION gofax_touch();

CREATE TRIGGER tenants_routing AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION gofax_routing_changed();
CREATE TRIGGER numbers_routing AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON numbers
    FOR EACH STATEMENT EXECUTE FUNCTION gofax_routing_changed();
CREATE TRIGGER users_routing AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION gofax_routing_changed();
CREATE TRIGGER endpoints_routing AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON endpoints
    FOR EACH STATEMENT EXECUTE FUNCTION gofax_routing_changed();
