-- Countries each principal has made decisions from, so that the decision context's
-- `behaviour.new_country` survives restarts and is shared by replicas. A row is added the first
-- time a Writ process sees a principal in a country it has no row for.
create table principal_countries (
    principal_id uuid not null,
    country text not null,
    first_seen timestamptz not null,
    primary key (principal_id, country)
);

-- A process that meets a principal for the first time counts its denials of the last hour from
-- the log. Only denied rows are in this index, so allowed decisions do not pay for it.
create index decisions_principal_denials on decisions (principal_id, decided_at desc)
    where not allow;
