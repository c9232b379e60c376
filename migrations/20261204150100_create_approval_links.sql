-- Single-use approval links: one per approver, request and channel (e-mail or Slack direct
-- message). Only the SHA-256 of the token is stored. Sending the message again replaces the
-- token, so only the newest link of a kind works.
create table approval_links (
    id uuid primary key default gen_random_uuid(),
    token_hash bytea not null,
    request_id uuid not null references access_requests (id),
    approver_id uuid not null references users (id) on delete cascade,
    channel text not null,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    used_at timestamptz,
    constraint approval_links_token_hash_key unique (token_hash),
    constraint approval_links_request_approver_channel_key unique (request_id, approver_id, channel),
    constraint approval_links_channel_check check (channel in ('email', 'slack'))
);
