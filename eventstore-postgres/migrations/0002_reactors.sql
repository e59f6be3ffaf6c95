-- Where each reactor partition has read to.
CREATE TABLE checkpoints (
    reactor    text        NOT NULL,
    partition  integer     NOT NULL,
    tx         bigint      NOT NULL,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (reactor, partition)
);

-- Which runner may process a reactor partition, until when.
CREATE TABLE leases (
    reactor    text        NOT NULL,
    partition  integer     NOT NULL,
    owner      text        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (reactor, partition)
);

-- Events that failed every attempt. They point at the event row; no copy
-- of its body is kept here.
CREATE TABLE parked_events (
    reactor   text        NOT NULL,
    position  bigint      NOT NULL,
    error     text        NOT NULL,
    attempts  integer     NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (reactor, position)
);
