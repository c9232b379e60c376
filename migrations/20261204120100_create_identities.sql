-- The inventory of human and non-human identities.
create table identities (
    id uuid primary key default gen_random_uuid(),
    kind text not null,
    name text not null,
    owner_id uuid references identities (id),
    environment text not null default '',
    criticality text not null default 'medium',
    description text not null default '',
    external_id text,
    status text not null default 'active',
    last_used_at timestamptz,
    attributes jsonb not null default '{}',
    user_id uuid references users (id),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint identities_kind_check
        check (kind in ('human', 'service_account', 'api_key', 'workload', 'ai_agent')),
    constraint identities_criticality_check
        check (criticality in ('low', 'medium', 'high', 'critical')),
    constraint identities_status_check check (status in ('active', 'disabled')),
    constraint identities_name_check check (length(name) between 1 and 200),
    constraint identities_attributes_check check (jsonb_typeof(attributes) = 'object'),
    constraint identities_external_id_key unique (external_id),
    constraint identities_user_id_key unique (user_id),
    constraint identities_user_human_check check (user_id is null or kind = 'human')
);

-- Keyset pagination orders by (name, id); filters narrow by kind, environment and status.
create index identities_name_id on identities (name, id);
create index identities_kind_name_id on identities (kind, name, id);
create index identities_owner_id on identities (owner_id);
create index identities_environment_name_id on identities (environment, name, id);
create index identities_search_trgm on identities
    using gin ((name || ' ' || coalesce(external_id, '') || ' ' || description) gin_trgm_ops);
-- Non-human identities without an owner are flagged; this partial index keeps that filter cheap.
create index identities_unowned on identities (name, id)
    where owner_id is null and kind <> 'human';
