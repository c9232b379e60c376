-- Access requests, their reviews, and the grants that approved requests produce.
create table access_requests (
    id uuid primary key default gen_random_uuid(),
    requester_id uuid not null references users (id),
    subject_id uuid not null references identities (id),
    resource_id uuid not null references resources (id),
    reason text not null,
    ticket text,
    duration_secs integer not null,
    scheduled_start timestamptz,
    state text not null default 'pending',
    required_approvals integer not null,
    pending_deadline timestamptz not null,
    created_at timestamptz not null,
    decided_at timestamptz,
    constraint access_requests_state_check
        check (state in ('pending', 'approved', 'denied', 'cancelled', 'expired')),
    constraint access_requests_reason_check check (length(reason) between 1 and 2000),
    constraint access_requests_duration_check check (duration_secs > 0)
);

create index access_requests_requester on access_requests (requester_id, created_at desc, id);
create index access_requests_pending on access_requests (pending_deadline) where state = 'pending';
create index access_requests_resource on access_requests (resource_id, created_at desc);

create table reviews (
    id uuid primary key default gen_random_uuid(),
    request_id uuid not null references access_requests (id),
    reviewer_id uuid not null references users (id),
    decision text not null,
    comment text not null default '',
    channel text not null,
    created_at timestamptz not null,
    constraint reviews_request_reviewer_key unique (request_id, reviewer_id),
    constraint reviews_decision_check check (decision in ('approve', 'deny')),
    constraint reviews_channel_check check (channel in ('console', 'email', 'slack', 'api'))
);

create table grants (
    id uuid primary key default gen_random_uuid(),
    request_id uuid not null references access_requests (id),
    requester_id uuid not null references users (id),
    subject_id uuid not null references identities (id),
    resource_id uuid not null references resources (id),
    state text not null default 'scheduled',
    starts_at timestamptz not null,
    expires_at timestamptz not null,
    activated_at timestamptz,
    ended_at timestamptz,
    ended_by uuid references users (id),
    end_reason text,
    extensions integer not null default 0,
    provisioning jsonb not null default '{}',
    created_at timestamptz not null,
    constraint grants_request_id_key unique (request_id),
    constraint grants_state_check
        check (state in ('scheduled', 'active', 'suspended', 'expired', 'revoked', 'revoke_failed')),
    constraint grants_window_check check (expires_at > starts_at)
);

create index grants_live on grants (expires_at) where state in ('scheduled', 'active', 'suspended');
create index grants_subject on grants (subject_id, expires_at desc);
create index grants_requester on grants (requester_id, created_at desc, id);
create index grants_created on grants (created_at desc, id);
