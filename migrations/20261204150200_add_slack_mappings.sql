-- Slack: the channel that hears about each resource's requests, which Slack user is which Writ
-- user, and the interactions already handled (Slack retries a request it got no answer to).
alter table resources add column slack_channel text;
alter table resources add constraint resources_slack_channel_check
    check (slack_channel is null or slack_channel ~ '^[A-Z0-9]{2,40}$');

create table slack_accounts (
    slack_user_id text primary key,
    user_id uuid not null references users (id) on delete cascade,
    found_by text not null,
    linked_at timestamptz not null,
    constraint slack_accounts_found_by_check check (found_by in ('lookup_by_email', 'users_info'))
);

create index slack_accounts_user_id on slack_accounts (user_id);

create table slack_interactions (
    interaction_key text primary key,
    received_at timestamptz not null
);

alter table audit_events drop constraint audit_events_source_check;
alter table audit_events add constraint audit_events_source_check
    check (source in ('console', 'api', 'job', 'cli', 'slack'));
