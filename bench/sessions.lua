-- wrk script: every request as a different child, from a file of prepared sessions.
--
--   wrk ... -s bench/sessions.lua URL -- FILE MODE
--
-- FILE has one prepared child per line: "cookie<TAB>csrf_token<TAB>send token".
-- MODE "page": GET /worries with each child's cookie, round and round the file.
-- MODE "send": POST /send, each line used once (a repeated token would be an idempotent
--              no-op, not a send); the thread stops when the file is used up.
-- MODE "hello": GET /bench/hello, no cookie.
-- Meant for one wrk thread (-t1): each thread reads the whole file.
-- done() prints one machine-readable line: "WRK requests duration_us p50_us p99_us errors".

local requests, i, once = {}, 0, false

function init(args)
  local file, mode = args[1], args[2]
  if mode == "hello" then
    requests[1] = wrk.format("GET", "/bench/hello")
    return
  end
  for line in io.lines(file) do
    local cookie, csrf, token = line:match("([^\t]+)\t([^\t]+)\t([^\t]+)")
    local headers = {["Cookie"] = cookie}
    if mode == "send" then
      headers["Content-Type"] = "application/x-www-form-urlencoded"
      local body = "csrf_token=" .. csrf .. "&token=" .. token
      table.insert(requests, wrk.format("POST", "/send", headers, body))
    else
      table.insert(requests, wrk.format("GET", "/worries", headers))
    end
  end
  once = (mode == "send")
end

function request()
  i = i + 1
  if i > #requests then
    if once then
      wrk.thread:stop()  -- used up: never send a token twice
      return wrk.format("GET", "/bench/hello")
    end
    i = 1
  end
  return requests[i]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format("WRK %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
