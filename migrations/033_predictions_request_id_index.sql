-- A bloom-filter skip index on predictions.request_id. Since 031 the table is ordered by event hour
-- first, so a lookup by request id alone (POST /v1/predict's idempotency check of ids it no longer
-- holds in memory, the label join's "was this prediction processed" lookup) can no longer use the
-- primary key; the index lets it read only the granules that may hold the ids. MATERIALIZE builds
-- it for the rows already stored (a mutation: on a large table it finishes in the background,
-- and until then those parts are read in full, which is only slower, never wrong).

ALTER TABLE predictions ADD INDEX IF NOT EXISTS request_id_bloom request_id TYPE bloom_filter(0.01) GRANULARITY 1;

ALTER TABLE predictions MATERIALIZE INDEX request_id_bloom;
