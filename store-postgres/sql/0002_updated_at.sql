-- calstore PostgreSQL schema, migration 0002: when each stored object was last written.
--
-- Adds updated_at to the object tables, fills it for existing rows with the time of the upgrade
-- (the real time is unknown), then makes it NOT NULL with now() as default, so that rows written
-- by older programs still get a value. Keeps every row.

ALTER TABLE objects               ADD COLUMN updated_at timestamptz;
ALTER TABLE recurrences           ADD COLUMN updated_at timestamptz;
ALTER TABLE countered_objects     ADD COLUMN updated_at timestamptz;
ALTER TABLE countered_recurrences ADD COLUMN updated_at timestamptz;
ALTER TABLE journal_objects       ADD COLUMN updated_at timestamptz;
ALTER TABLE journal_recurrences   ADD COLUMN updated_at timestamptz;

UPDATE objects               SET updated_at = now() WHERE updated_at IS NULL;
UPDATE recurrences           SET updated_at = now() WHERE updated_at IS NULL;
UPDATE countered_objects     SET updated_at = now() WHERE updated_at IS NULL;
UPDATE countered_recurrences SET updated_at = now() WHERE updated_at IS NULL;
UPDATE journal_objects       SET updated_at = now() WHERE updated_at IS NULL;
UPDATE journal_recurrences   SET updated_at = now() WHERE updated_at IS NULL;

ALTER TABLE objects               ALTER COLUMN updated_at SET DEFAULT now(),
                                  ALTER COLUMN updated_at SET NOT NULL;
ALTER TABLE recurrences           ALTER COLUMN updated_at SET DEFAULT now(),
                                  ALTER COLUMN updated_at SET NOT NULL;
ALTER TABLE countered_objects     ALTER COLUMN updated_at SET DEFAULT now(),
                                  ALTER COLUMN updated_at SET NOT NULL;
ALTER TABLE countered_recurrences ALTER COLUMN updated_at SET DEFAULT now(),
                                  ALTER COLUMN updated_at SET NOT NULL;
ALTER TABLE journal_objects       ALTER COLUMN updated_at SET DEFAULT now(),
                                  ALTER COLUMN updated_at SET NOT NULL;
ALTER TABLE journal_recurrences   ALTER COLUMN updated_at SET DEFAULT now(),
                                  ALTER COLUMN updated_at SET NOT NULL;
