-- Members of a room whose node is alive, other than the asking node's.
-- KEYS[1] = the room's hash (client id -> node), ARGV[1] = the liveness
-- key prefix, ARGV[2] = the asking node.
local h = redis.call('HGETALL', KEYS[1])
local alive = {}
local out = {}
for i = 1, #h, 2 do
  local node = h[i + 1]
  if node ~= ARGV[2] then
    local a = alive[node]
    if a == nil then
      a = redis.call('EXISTS', ARGV[1] .. node) == 1
      alive[node] = a
    end
    if a then out[#out + 1] = h[i] end
  end
end
return out
