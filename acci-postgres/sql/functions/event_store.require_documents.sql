-- Refuses, with SQLSTATE 'AC001', JSON documents (payloads, metadata, a snapshot state)
-- of which one nests more than 64 levels of arrays and objects: the SQL twin of
-- acci_core::MAX_JSON_DEPTH and check_json (a scalar is at level 0, so a container at
-- level 64 is one too deep). jsonb cannot hold NUL, the other rule of check_json. The
-- message names p_what and the document's place in p_documents (from 0, as the Rust
-- API counts events). One path query checks the whole array.
--
-- Not a table constraint: rows the database owner writes past the functions may nest
-- deeper, and the readers pass over those (see docs/security.md).
CREATE OR REPLACE FUNCTION event_store.require_documents(p_what text, p_documents jsonb[])
RETURNS void LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_index integer;
BEGIN
    IF pg_catalog.jsonb_path_exists(pg_catalog.to_jsonb(p_documents),
           'strict $[*].**{64} ? (@.type() == "object" || @.type() == "array")') THEN
        SELECT d.ord - 1 INTO v_index
          FROM pg_catalog.unnest(p_documents) WITH ORDINALITY AS d(document, ord)
         WHERE pg_catalog.jsonb_path_exists(d.document,
                   'strict $.**{64} ? (@.type() == "object" || @.type() == "array")')
         ORDER BY d.ord
         LIMIT 1;
        RAISE EXCEPTION '% % nests deeper than 64 levels; a store keeps at most 64 levels of arrays and objects',
                p_what, v_index
            USING ERRCODE = 'AC001';
    END IF;
END;
$$;

REVOKE ALL ON FUNCTION event_store.require_documents(text, jsonb[]) FROM PUBLIC;
