-- The append-only, hash-chained audit log. Each row's hash covers its fields and the previous
-- row's hash, so editing or removing a row breaks the chain that `writ audit verify` checks.
create table audit_events (
    seq bigint generated always as identity primary key,
    occurred_at timestamptz not null,
    actor_id uuid,
    actor_label text not null,
    action text not null,
    outcome text not null,
    subject_type text not null,
    subject_id text not null,
    reason text not null default '',
    source text not null,
    details jsonb not null default '{}',
    prev_hash bytea not null,
    hash bytea not null,
    constraint audit_events_outcome_check check (outcome in ('success', 'refused', 'failed')),
    constraint audit_events_source_check check (source in ('console', 'api', 'job', 'cli'))
);

create index audit_events_occurred on audit_events (occurred_at desc, seq desc);
create index audit_events_subject on audit_events (subject_type, subject_id, seq desc);
create index audit_events_actor on audit_events (actor_id, seq desc);
create index audit_events_action on audit_events (action, seq desc);

create function audit_events_reject_change() returns trigger
language plpgsql as $$
begin
    raise exception 'audit_events is append-only: % is not allowed', tg_op
        using errcode = 'insufficient_privilege';
end;
$$;

create trigger audit_events_append_only
    before update or delete on audit_events
    for each row execute function audit_events_reject_change();

create trigger audit_events_no_truncate
    before truncate on audit_events
    for each statement execute function audit_events_reject_change();
