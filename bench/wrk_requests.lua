-- wrk script: POST pre-signed Twilio webhook requests, each once, from a file.
-- Usage: wrk -s bench/wrk_requests.lua URL -- FILE THREADS
-- FILE holds one "X-Twilio-Signature<TAB>form body" a line. Thread k of THREADS sends
-- lines k, k+THREADS, ...; past its last line it starts again and counts a wrap-around
-- (a repeated MessageSid: the report says how many, the benchmark sizes FILE to avoid them).
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2] or "1")
  sigs, bodies, n, i, wrapped = {}, {}, 0, 0, 0
  local line_no = 0
  for line in io.lines(file) do
    if line_no % nthreads == tid then
      local sig, body = line:match("^([^\t]*)\t(.*)$")
      n = n + 1
      sigs[n], bodies[n] = sig, body
    end
    line_no = line_no + 1
  end
  path = wrk.path
end

function request()
  i = i + 1
  if i > n then
    i, wrapped = 1, wrapped + 1
  end
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = sigs[i],
  }, bodies[i])
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get("wrapped") or 0)
  end
  io.write(string.format("wrapped %d\n", total))
end
