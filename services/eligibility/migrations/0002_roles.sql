-- ---------------------------------------------------------------------------
-- 0002_roles.sql: what the runtime roles may do in the eligibility schema.
--
-- teilhabe_eligibility (the service's own role) reads and writes the rows
-- of its tables and uses its sequences, also those a later migration
-- creates; no other role gets anything here, and it gets nothing in another
-- schema but what common/migrations/0002_service_roles.sql grants on audit
-- (common/migrations/0005_grant_service_schema.sql says how).
-- ---------------------------------------------------------------------------
SELECT public.teilhabe_grant_service_schema('eligibility', 'teilhabe_eligibility');
