-- Notifications by e-mail and Slack. Each row is one message to one destination, written in the
-- same transaction as the change it reports and sent later by a job, so that a crash between
-- the change and the send cannot lose it.
create table notification_deliveries (
    id uuid primary key default gen_random_uuid(),
    event text not null,
    request_id uuid references access_requests (id),
    grant_id uuid references grants (id),
    channel text not null,
    recipient_id uuid references users (id) on delete set null,
    -- An e-mail address, a Slack user or channel id, or a label for a webhook or message update.
    destination text not null,
    -- Extra facts the message needs that the database does not keep, such as a Slack
    -- response URL. Never a secret of Writ's own.
    payload jsonb not null default '{}',
    state text not null default 'pending',
    attempts integer not null default 0,
    last_error text,
    created_at timestamptz not null,
    next_attempt_at timestamptz,
    last_attempt_at timestamptz,
    sent_at timestamptz,
    constraint notification_deliveries_event_check check (event in (
        'request_created', 'request_approved', 'request_denied', 'request_expired',
        'request_cancelled', 'grant_activated', 'grant_expiring', 'grant_expired',
        'grant_revoked', 'grant_revoke_failed', 'slack_decision')),
    constraint notification_deliveries_channel_check check (channel in (
        'email', 'slack_dm', 'slack_channel', 'slack_webhook', 'slack_update')),
    constraint notification_deliveries_state_check
        check (state in ('pending', 'sent', 'failed', 'skipped')),
    constraint notification_deliveries_attempts_check check (attempts >= 0)
);

create index notification_deliveries_recent on notification_deliveries (created_at desc, id);
create index notification_deliveries_failed on notification_deliveries (last_attempt_at desc)
    where state = 'failed' or (state = 'pending' and attempts > 0);
create index notification_deliveries_request on notification_deliveries (request_id);

-- Announces every delivery change on writ_delivery_changed, so that tests and other processes
-- can wait for a delivery without polling.
create function notification_deliveries_notify_change() returns trigger
language plpgsql as $$
begin
    perform pg_notify(
        'writ_delivery_changed',
        json_build_object('id', new.id, 'state', new.state, 'attempts', new.attempts)::text
    );
    return new;
end;
$$;

create trigger notification_deliveries_notify_change
    after insert or update of state, attempts on notification_deliveries
    for each row execute function notification_deliveries_notify_change();
