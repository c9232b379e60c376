-- Announces every grant change on the channel writ_grant_changed, so that caches of grants in
-- other processes (and tests waiting for a job) learn of it without polling.
create function grants_notify_change() returns trigger
language plpgsql as $$
begin
    perform pg_notify(
        'writ_grant_changed',
        json_build_object('id', new.id, 'state', new.state, 'expires_at', new.expires_at)::text
    );
    return new;
end;
$$;

create trigger grants_notify_change
    after insert or update of state, expires_at on grants
    for each row execute function grants_notify_change();
