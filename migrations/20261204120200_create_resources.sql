-- Requestable resources: a target system plus the role to hold on it.
create table resources (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    target text not null,
    role text not null,
    description text not null default '',
    sensitivity text not null,
    max_duration_secs integer not null,
    required_approvals integer not null default 1,
    archived_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint resources_name_key unique (name),
    constraint resources_sensitivity_check
        check (sensitivity in ('low', 'medium', 'high', 'crown_jewel')),
    constraint resources_max_duration_check check (max_duration_secs between 60 and 31536000),
    constraint resources_required_approvals_check check (required_approvals between 1 and 10)
);

-- Who may request or approve a resource: a user or a group, one per row.
-- A resource with no requester rows may be requested by every user with the requester role.
create table resource_principals (
    id uuid primary key default gen_random_uuid(),
    resource_id uuid not null references resources (id) on delete cascade,
    relation text not null,
    user_id uuid references users (id) on delete cascade,
    group_id uuid references groups (id) on delete cascade,
    constraint resource_principals_relation_check check (relation in ('requester', 'approver')),
    constraint resource_principals_one_check check ((user_id is null) <> (group_id is null))
);

create unique index resource_principals_user_key
    on resource_principals (resource_id, relation, user_id) where user_id is not null;
create unique index resource_principals_group_key
    on resource_principals (resource_id, relation, group_id) where group_id is not null;
