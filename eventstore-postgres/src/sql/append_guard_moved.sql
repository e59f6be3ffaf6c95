-- An append's check that the stream $9 $10 has not moved past version $11
-- (Options::unless_moved).
NOT EXISTS (
        SELECT 1 FROM {schema}.events
        WHERE aggregate_kind = $9::text AND aggregate_id = $10::text AND version > $11::bigint)
