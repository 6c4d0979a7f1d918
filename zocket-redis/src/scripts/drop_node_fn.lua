-- Removes a node's registry entries: every (room, client) it owned and its
-- place in the node set. Shared by drop_node.lua and collect_dead.lua.
local function drop(base, node)
  local owned = base .. 'owned:' .. node
  for _, e in ipairs(redis.call('SMEMBERS', owned)) do
    local sp = string.find(e, ' ', 1, true)
    if sp then
      redis.call('HDEL', base .. 'room:' .. string.sub(e, sp + 1), string.sub(e, 1, sp - 1))
    end
  end
  redis.call('DEL', owned)
  redis.call('SREM', base .. 'nodes', node)
end
