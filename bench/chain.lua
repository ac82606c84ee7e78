-- wrk script for bench/run.sh's single-use credentials: every request spends one, so no body can
-- be sent twice. WRK_MODE=refresh: each thread starts with its share of WRK_TOKENS (refresh
-- tokens, space-separated; at least one per connection, plus one on the first thread, whose first
-- request() wrk calls only to check the script) and sends each with grant_type=refresh_token;
-- the rotated token in the answer goes back into the thread's pool. WRK_MODE=code: thread k redeems
-- the codes WRK_CODE_PREFIX .. k .. "-" .. n, n = 1, 2, … (minted beforehand by bench/run.sh), with
-- WRK_REDIRECT_URI and WRK_CODE_VERIFIER. Counted as in post.lua: every non-2xx answer, and every
-- 2xx without WRK_EXPECT (refresh: without a new refresh_token) is a failure.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local auth = os.getenv("WRK_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end

dofile("bench/result.lua") -- threads, done()
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local function urlencode(s)
  return (string.gsub(s, "[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  non2xx = 0
  unexpected = 0
  mode = os.getenv("WRK_MODE")
  expect = os.getenv("WRK_EXPECT")
  if expect == "" then expect = nil end
  pool = {}
  n = 0
  if mode == "refresh" then
    local count = tonumber(os.getenv("WRK_THREADS"))
    local i = 0
    for token in string.gmatch(os.getenv("WRK_TOKENS") or "", "%S+") do
      if i % count == id then table.insert(pool, token) end
      i = i + 1
    end
  else
    prefix = (os.getenv("WRK_CODE_PREFIX") or "") .. id .. "-"
    tail = "&redirect_uri=" .. urlencode(os.getenv("WRK_REDIRECT_URI") or "") .. "&code_verifier=" .. (os.getenv("WRK_CODE_VERIFIER") or "")
  end
end

function request()
  if mode == "refresh" then
    -- An empty pool means answers were lost (already counted); the placeholder then fails visibly too.
    local token = table.remove(pool) or "pool-empty"
    return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. urlencode(token))
  end
  n = n + 1
  return wrk.format(nil, nil, nil, "grant_type=authorization_code&code=" .. prefix .. n .. tail)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    return
  end
  if mode == "refresh" then
    local token = string.match(body, '"refresh_token":"([^"]+)"')
    if token then table.insert(pool, token) else unexpected = unexpected + 1 end
  elseif expect and not string.find(body, expect, 1, true) then
    unexpected = unexpected + 1
  end
end
