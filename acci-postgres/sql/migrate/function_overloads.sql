-- Every function or procedure of this schema and name: its oid, and its signature as
-- DROP ROUTINE takes it.
SELECT p.oid::bigint AS oid,
       format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) AS signature
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = $1 AND p.proname = $2
 ORDER BY p.oid
