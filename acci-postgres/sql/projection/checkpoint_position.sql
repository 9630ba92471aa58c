-- $1 the checkpoint's name. Only the position: the columns the application role may read.
SELECT transaction_id::text AS transaction_id, position
  FROM projections.checkpoints
 WHERE name = $1
