"""make bench-api: latency and throughput of every endpoint of the REST API.

Starts `tickerpulse demo` (release build: the 5,000 taborda tweets through the
real pipeline into the local DynamoDB), waits for it to serve, then loads each
endpoint from a second process with wrk (HTTP/1.1 keep-alive, loopback) and
prints p50, p99 and requests per second. The server is `tickerpulse serve`'s:
each request becomes an API Gateway proxy event for the api handler, which
reads moto's DynamoDB over loopback HTTP, so the figures are the handler's cost
plus moto's, not API Gateway's or DynamoDB's.
"""
import os, re, signal, subprocess, sys, time

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/tickerpulse"
SECONDS = int(os.environ.get("BENCH_API_SECONDS", "5"))
CONNECTIONS = int(os.environ.get("BENCH_API_CONNECTIONS", "4"))
KEY = "bench-key"
UNLOADED = int(os.environ.get("BENCH_API_REQUESTS", "40"))

demo = subprocess.Popen([BIN, "demo", "--port", "0", "--api-port", "0", "--api-key", KEY],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
base = None
t0 = time.time()
for line in demo.stdout:
    sys.stdout.write("  demo | " + line) if not line.startswith("   ") else None
    m = re.search(r"dashboard:\s+(http://\S+/)", line)
    if m:
        base = m.group(1)[:-len("v1/")]
    if base and line.startswith("Ctrl-C"):  # the demo's user exists from here
        break
if base is None:
    sys.exit("the demo ended before serving")
print(f"demo ready in {time.time() - t0:.0f} s at {base}; wrk -t2 -c{CONNECTIONS} -d{SECONDS}s per endpoint\n")

import json, urllib.request

# The data routes need a signed-in user (the gateway's Cognito authorizer, which
# the demo emulates): sign in as the demo's user, as the dashboard does.
config = json.load(urllib.request.urlopen(base + "v1/config.json"))
auth = urllib.request.Request(config["cognito_url"], method="POST", data=json.dumps({
    "AuthFlow": "USER_PASSWORD_AUTH", "ClientId": config["client_id"],
    "AuthParameters": {"USERNAME": "demo", "PASSWORD": "Demo-password-1"},
}).encode(), headers={"Content-Type": "application/x-amz-json-1.1",
                      "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"})
TOKEN = json.load(urllib.request.urlopen(auth))["AuthenticationResult"]["IdToken"]
HEADERS = {"x-api-key": KEY, "Authorization": TOKEN}

def get(path):
    req = urllib.request.Request(base + "v1/" + path, headers=HEADERS)
    return json.load(urllib.request.urlopen(req))

# The dashboard asks for explicit periods (it lists them once per level).
day = get("periods?level=day&limit=1")["periods"][0]["period"]
month = get("periods?level=month&limit=1")["periods"][0]["period"]
top = get(f"leaderboard?level=month&period={month}&limit=1")["tickers"][0]["ticker"]
endpoints = [
    ("health (no DynamoDB)", "health"),
    ("dashboard page (no DynamoDB)", None),
    ("400: bad level (no DynamoDB)", "leaderboard?level=weekly"),
    ("periods (day)", "periods?level=day"),
    ("leaderboard (newest day, default)", "leaderboard?level=day&limit=15"),
    (f"leaderboard (day {day}, top 15)", f"leaderboard?level=day&period={day}&limit=15"),
    (f"leaderboard (month, by negative)", f"leaderboard?level=month&period={month}&sort=negative&limit=15"),
    (f"overall (day {day})", f"overall?level=day&period={day}"),
    (f"hashtags (month {month})", f"hashtags?level=month&period={month}"),
    (f"words (month {month})", f"words?level=month&period={month}"),
    (f"words (month, {top})", f"words?level=month&period={month}&ticker={top}"),
    (f"trend ({top}, hour)", f"tickers/{top}/trend?granularity=hour"),
    (f"trend ({top}, day)", f"tickers/{top}/trend?granularity=day"),
    ("tweets (all, 20)", "tweets?limit=20"),
    (f"tweets ({top}, 20)", f"tweets?ticker={top}&limit=20"),
    ("runs", "runs"),
    ("trending (1h)", "trending?window=1h"),
    ("trending (24h)", "trending?window=24h"),
    ("trending (7d, 50)", "trending?window=7d&limit=50"),
    ("alert-history", "alert-history"),
    (f"prices ({top})", f"tickers/{top}/prices"),
    (f"correlation ({top})", f"tickers/{top}/correlation"),
    (f"tweets ({top}, day {day}, from/to)", f"tweets?ticker={top}&from={day[:10]}T00:00:00Z&to={day[:10]}T23:59:59Z&limit=100"),
]

def to_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[m.group(2)]

def unloaded(url, n):
    """Latencies of n sequential requests on one keep-alive connection (ms)."""
    import http.client, urllib.parse
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    path = u.path + ("?" + u.query if u.query else "")
    out = []
    for _ in range(n):
        t = time.perf_counter()
        conn.request("GET", path, headers=HEADERS)
        r = conn.getresponse()
        r.read()
        out.append((time.perf_counter() - t) * 1000)
    conn.close()
    out.sort()
    return out[len(out) // 2], out[min(len(out) - 1, int(len(out) * 0.99))]

print(f"{'endpoint':34} {'p50 ms':>8} {'p99 ms':>8} | {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
print(f"{'':34} {f'one connection, {UNLOADED} requests':>17} | {f'wrk, {CONNECTIONS} connections, {SECONDS} s':>35}")
try:
    for name, path in endpoints:
        url = base if path is None else base + "v1/" + path
        p50_1, p99_1 = unloaded(url, UNLOADED)
        out = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--timeout", "10s", "--latency",
                              "-H", f"x-api-key: {KEY}", "-H", f"Authorization: {TOKEN}", url], capture_output=True, text=True, check=True).stdout
        p50 = to_ms(re.search(r"50%\s+(\S+)", out).group(1))
        p99 = to_ms(re.search(r"99%\s+(\S+)", out).group(1))
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
        print(f"{name:34} {p50_1:8.2f} {p99_1:8.2f} | {rps:8.0f} {p50:8.2f} {p99:8.2f} {bad.group(1) if bad else 0:>8}", flush=True)
finally:
    demo.send_signal(signal.SIGINT)
    demo.wait(timeout=60)
