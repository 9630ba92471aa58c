-- One parked event projected on replay: applied now, no longer parked.
UPDATE projections.checkpoints
   SET events_applied = events_applied + 1, events_parked = greatest(events_parked - 1, 0)
 WHERE name = $1
