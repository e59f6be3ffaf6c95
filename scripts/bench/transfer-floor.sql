-- pgbench script: the bare statements of one transfer, without the
-- framework, as the same-run baseline of scripts/bench-transfers. Five
-- single-row INSERTs (start, withdraw, debit, deposit, complete), each its
-- own transaction as the framework's appends are, and four keyed reads of a
-- stream (the loads before withdraw, debit, deposit and complete), into a
-- copy of the events table with the same indexes. New streams, so the reads
-- find no rows: a lower bound on what the framework's statements cost.
\set t random(1, 9000000000000000000)
INSERT INTO floor_events (id, aggregate_kind, aggregate_id, version, kind, body, idempotency_key) VALUES ('e1-' || :t, 'Transfer', 't-' || :t, 1, 'TransferStarted', '{"from": "a", "to": "b", "amount": 100}', 'start');
SELECT * FROM floor_events WHERE aggregate_kind = 'Account' AND aggregate_id = 'a-' || :t ORDER BY version;
INSERT INTO floor_events (id, aggregate_kind, aggregate_id, version, kind, body, idempotency_key) VALUES ('e2-' || :t, 'Account', 'a-' || :t, 1, 'MoneyWithdrawn', '{"amount": 100, "transaction": "t"}', 't/withdraw');
SELECT * FROM floor_events WHERE aggregate_kind = 'Transfer' AND aggregate_id = 't-' || :t ORDER BY version;
INSERT INTO floor_events (id, aggregate_kind, aggregate_id, version, kind, body, idempotency_key) VALUES ('e3-' || :t, 'Transfer', 't-' || :t, 2, 'TransferDebited', '{}', 't/debited');
SELECT * FROM floor_events WHERE aggregate_kind = 'Account' AND aggregate_id = 'b-' || :t ORDER BY version;
INSERT INTO floor_events (id, aggregate_kind, aggregate_id, version, kind, body, idempotency_key) VALUES ('e4-' || :t, 'Account', 'b-' || :t, 1, 'MoneyDeposited', '{"amount": 100, "transaction": "t"}', 't/deposit');
SELECT * FROM floor_events WHERE aggregate_kind = 'Transfer' AND aggregate_id = 't-' || :t ORDER BY version;
INSERT INTO floor_events (id, aggregate_kind, aggregate_id, version, kind, body, idempotency_key) VALUES ('e5-' || :t, 'Transfer', 't-' || :t, 3, 'TransferCompleted', '{}', 't/completed');
