-- Versioned Cedar policy sets, decision clients, identity signals and the decision log.

create table policy_versions (
    id uuid primary key default gen_random_uuid(),
    number integer generated always as identity,
    source text not null,
    hash text not null,
    author_id uuid references users (id),
    author_label text not null,
    reason text not null,
    created_at timestamptz not null,
    constraint policy_versions_number_key unique (number),
    constraint policy_versions_reason_check check (length(reason) between 1 and 2000),
    constraint policy_versions_source_check check (length(source) <= 1048576)
);

-- The single row naming the active version. Changing it is an activation or a rollback.
create table policy_active (
    singleton boolean primary key default true,
    version_id uuid not null references policy_versions (id),
    activated_at timestamptz not null,
    constraint policy_active_singleton_check check (singleton)
);

create table decision_clients (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    description text not null default '',
    token_hash bytea not null,
    prefix text not null,
    created_by uuid references users (id),
    created_at timestamptz not null,
    last_used_at timestamptz,
    disabled_at timestamptz,
    constraint decision_clients_name_key unique (name),
    constraint decision_clients_token_hash_key unique (token_hash),
    constraint decision_clients_name_check check (length(name) between 1 and 200)
);

-- The latest risk score and device posture reported for an identity.
create table identity_signals (
    identity_id uuid primary key references identities (id) on delete cascade,
    risk_score integer,
    managed boolean,
    compliant boolean,
    disk_encrypted boolean,
    updated_at timestamptz not null,
    updated_by uuid references decision_clients (id),
    constraint identity_signals_risk_check check (risk_score between 0 and 100)
);

create table decisions (
    id uuid primary key,
    decided_at timestamptz not null,
    client_id uuid references decision_clients (id),
    client_label text not null,
    principal text not null,
    principal_id uuid,
    action text not null,
    resource text not null,
    resource_id uuid,
    context jsonb not null,
    allow boolean not null,
    policies jsonb not null,
    errors jsonb not null,
    reason text not null,
    policy_hash text not null,
    latency_us bigint not null,
    controls jsonb not null
);

create index decisions_time on decisions (decided_at desc, id desc);
create index decisions_principal on decisions (principal, decided_at desc, id desc);
create index decisions_resource on decisions (resource, decided_at desc, id desc);
create index decisions_principal_id on decisions (principal_id, decided_at desc);
create index decisions_policies on decisions using gin (policies jsonb_path_ops);
-- No index on controls: each control applies to a large share of decisions (every allow, every
-- deny, or every agent decision), so the time-ordered scan finds a page of matches quickly.

-- Caches of policies, identities, resources, grants and clients in every Writ process listen on
-- these channels, so that a change made through one replica reaches the others.
create function writ_notify_row_change() returns trigger
language plpgsql as $$
declare
    row_id text;
begin
    if tg_op = 'DELETE' then
        row_id := old.id::text;
    else
        row_id := new.id::text;
    end if;
    perform pg_notify(tg_argv[0], coalesce(row_id, ''));
    return null;
end;
$$;

create trigger identities_notify_change
    after insert or update or delete on identities
    for each row execute function writ_notify_row_change('writ_identity_changed');

create trigger resources_notify_change
    after insert or update or delete on resources
    for each row execute function writ_notify_row_change('writ_resource_changed');

create trigger decision_clients_notify_change
    after insert or update or delete on decision_clients
    for each row execute function writ_notify_row_change('writ_client_changed');

create function identity_signals_notify_change() returns trigger
language plpgsql as $$
begin
    perform pg_notify('writ_identity_changed', new.identity_id::text);
    return null;
end;
$$;

create trigger identity_signals_notify_change
    after insert or update on identity_signals
    for each row execute function identity_signals_notify_change();

create function policy_active_notify_change() returns trigger
language plpgsql as $$
begin
    perform pg_notify('writ_policy_changed', new.version_id::text);
    return null;
end;
$$;

create trigger policy_active_notify_change
    after insert or update on policy_active
    for each row execute function policy_active_notify_change();

-- Grant changes already notify writ_grant_changed for the job queue; the decision cache keys
-- entries by the grant's subject, so the payload now names it too.
create or replace function grants_notify_change() returns trigger
language plpgsql as $$
begin
    perform pg_notify(
        'writ_grant_changed',
        json_build_object(
            'id', new.id,
            'subject_id', new.subject_id,
            'state', new.state,
            'expires_at', new.expires_at
        )::text
    );
    return new;
end;
$$;

create index policy_versions_hash on policy_versions (hash);
