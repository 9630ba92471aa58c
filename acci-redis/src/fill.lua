-- Stores a row read from the read models, unless the entry or the generation changed
-- since the reader looked: an invalidation (a mark in the entry) or a rebuild (a new
-- generation) came between, so what the reader read may be older than what committed.
-- KEYS[1]: the row's entry; KEYS[2]: the projection's generation.
-- ARGV[1]: the entry the reader saw ('' for none); ARGV[2]: the generation it saw ('' for
-- none); ARGV[3]: the new entry; ARGV[4]: its time to live in milliseconds.
local generation = redis.call('GET', KEYS[2]) or ''
if generation ~= ARGV[2] then
  return 0
end
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return 1
