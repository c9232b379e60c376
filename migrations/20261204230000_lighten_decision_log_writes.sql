-- Every decision writes a row here, so PostgreSQL's work per row bounds the decision API's
-- throughput with durable logging.
--
-- The foreign key to decision_clients ran a lookup per inserted row. Clients are never deleted
-- (a revoked client keeps its row), and the log keeps the client's label beside its id.
alter table decisions drop constraint decisions_client_id_fkey;

-- The context is kept as the exact JSON text Writ evaluated. Nothing queries inside it, and the
-- json type only checks the text where jsonb would also build and sort a tree for every row.
alter table decisions alter column context type json using context::json;
