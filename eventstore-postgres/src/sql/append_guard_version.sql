-- An append's check that the expected version $3 (above 0) exists: without
-- it, an expected version ahead of the stream would leave a gap.
EXISTS (
        SELECT 1 FROM {schema}.events
        WHERE aggregate_kind = $1 AND aggregate_id = $2 AND version = $3)
