-- ARGV[1] = key base: drop every registered node whose liveness key
-- expired. Returns how many.
local removed = 0
for _, node in ipairs(redis.call('SMEMBERS', ARGV[1] .. 'nodes')) do
  if redis.call('EXISTS', ARGV[1] .. 'alive:' .. node) == 0 then
    drop(ARGV[1], node)
    removed = removed + 1
  end
end
return removed
