-- wrk script: read waiting-room tickets as waiting browsers do, each request a ticket
-- with its own customer's token, going round the slice again and again (a browser
-- polls the same ticket with the same token until admitted).
--
-- Each line of BENCH_TOKENS is "<customer token> <ticket id>"; BENCH_PATH is
-- "/api/v1/launches/<slug>/queue/". See common.lua for the settings.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local bench = dofile(dir .. "common.lua")

local headers = {}

function init(args)
   bench.load()
end

function request()
   local row = bench.take()
   headers["Authorization"] = "Bearer " .. row[1]
   return wrk.format("GET", bench.path .. row[2], headers)
end

function response(status, headers, body)
   bench.count(status)
end
