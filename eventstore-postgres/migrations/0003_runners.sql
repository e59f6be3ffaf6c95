-- The live runners of each reactor, so that each holds its share of the
-- partitions.
CREATE TABLE runners (
    reactor    text        NOT NULL,
    owner      text        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (reactor, owner)
);
