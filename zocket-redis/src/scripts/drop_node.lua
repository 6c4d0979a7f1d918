-- ARGV[1] = key base, ARGV[2] = node: drop it and its liveness key.
drop(ARGV[1], ARGV[2])
redis.call('DEL', ARGV[1] .. 'alive:' .. ARGV[2])
return 1
