-- Console users and their roles. A user is keyed by identity-provider issuer and subject;
-- local accounts use the issuer 'local' and their sign-in name as the subject.
create extension if not exists pg_trgm;

create table users (
    id uuid primary key default gen_random_uuid(),
    issuer text not null,
    subject text not null,
    email text,
    email_verified boolean not null default false,
    display_name text not null,
    password_hash text,
    roles text[] not null default '{}',
    is_bootstrap boolean not null default false,
    disabled_at timestamptz,
    last_sign_in_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint users_issuer_subject_key unique (issuer, subject),
    constraint users_roles_check
        check (roles <@ array['admin', 'approver', 'auditor', 'requester']::text[]),
    constraint users_display_name_check check (length(display_name) between 1 and 200)
);

create table groups (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    description text not null default '',
    created_at timestamptz not null default now(),
    constraint groups_name_key unique (name),
    constraint groups_name_check check (length(name) between 1 and 200)
);

create table group_members (
    group_id uuid not null references groups (id) on delete cascade,
    user_id uuid not null references users (id) on delete cascade,
    primary key (group_id, user_id)
);

create index group_members_user_id on group_members (user_id);

-- One-time sign-in links (bootstrap, recovery, new local users). Only the SHA-256 of the
-- token is stored.
create table sign_in_links (
    token_hash bytea primary key,
    user_id uuid not null references users (id) on delete cascade,
    purpose text not null,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    used_at timestamptz
);

create table sessions (
    id text primary key,
    data jsonb not null,
    expiry_date timestamptz not null,
    user_id uuid references users (id) on delete cascade
);

create index sessions_expiry_date on sessions (expiry_date);
create index sessions_user_id on sessions (user_id);

create table api_tokens (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    token_hash bytea not null,
    prefix text not null,
    user_id uuid not null references users (id) on delete cascade,
    roles text[] not null,
    created_at timestamptz not null,
    expires_at timestamptz,
    last_used_at timestamptz,
    revoked_at timestamptz,
    constraint api_tokens_token_hash_key unique (token_hash),
    constraint api_tokens_name_check check (length(name) between 1 and 200),
    constraint api_tokens_roles_check
        check (roles <@ array['admin', 'approver', 'auditor', 'requester']::text[])
);

create index api_tokens_user_id on api_tokens (user_id);
